package rules

// Category is a kind of personal data an app can reach, in the issue's own
// terms.
type Category struct {
	ID, Name, Help string
	// Permissions that grant access (android.permission. is implied for
	// names without a dot).
	Permissions []string
	// Guarded: the category's APIs fail without one of the Permissions.
	Guarded bool
}

// categories, in report order.
var categories = []Category{
	{ID: "location", Guarded: true, Name: "location",
		Help:        "Precise or approximate position, from GPS, cell towers or Wi-Fi scans.",
		Permissions: []string{"ACCESS_FINE_LOCATION", "ACCESS_COARSE_LOCATION", "ACCESS_BACKGROUND_LOCATION", "ACCESS_MEDIA_LOCATION"}},
	{ID: "contacts", Guarded: true, Name: "contacts and call log",
		Help:        "The address book, the user's profile and the history of calls.",
		Permissions: []string{"READ_CONTACTS", "WRITE_CONTACTS", "READ_PROFILE", "READ_CALL_LOG", "WRITE_CALL_LOG", "PROCESS_OUTGOING_CALLS"}},
	{ID: "messages", Guarded: true, Name: "messages",
		Help:        "SMS and MMS: read, received or sent (one-time codes included).",
		Permissions: []string{"READ_SMS", "RECEIVE_SMS", "SEND_SMS", "WRITE_SMS", "RECEIVE_MMS", "RECEIVE_WAP_PUSH", "READ_CELL_BROADCASTS"}},
	{ID: "clipboard", Name: "the clipboard",
		Help: "Whatever the user copied, passwords included. No permission guards it before Android 10."},
	{ID: "camera-photos", Name: "camera and photos",
		Help:        "The camera, and pictures and videos in shared storage.",
		Permissions: []string{"CAMERA", "READ_MEDIA_IMAGES", "READ_MEDIA_VIDEO", "READ_MEDIA_VISUAL_USER_SELECTED", "READ_EXTERNAL_STORAGE", "WRITE_EXTERNAL_STORAGE", "MANAGE_EXTERNAL_STORAGE"}},
	{ID: "microphone", Guarded: true, Name: "the microphone",
		Help:        "Audio recording.",
		Permissions: []string{"RECORD_AUDIO", "CAPTURE_AUDIO_OUTPUT"}},
	{ID: "phone-identifiers", Name: "phone identifiers",
		Help:        "IMEI, IMSI, SIM serial, phone number, hardware serial, Wi-Fi and Bluetooth MAC, Android ID, advertising ID: what ties data to one device and one person.",
		Permissions: []string{"READ_PHONE_STATE", "READ_PRIVILEGED_PHONE_STATE", "READ_PHONE_NUMBERS", "ACCESS_WIFI_STATE", "LOCAL_MAC_ADDRESS"}},
	{ID: "accounts", Guarded: true, Name: "accounts",
		Help:        "The accounts on the device (e-mail addresses, user names) and their tokens.",
		Permissions: []string{"GET_ACCOUNTS", "GET_ACCOUNTS_PRIVILEGED", "MANAGE_ACCOUNTS", "USE_CREDENTIALS", "AUTHENTICATE_ACCOUNTS"}},
	{ID: "installed-apps", Name: "installed and running apps",
		Help:        "The list of installed apps and what runs: religion, health, politics and banks can be read from it.",
		Permissions: []string{"QUERY_ALL_PACKAGES", "GET_TASKS", "REAL_GET_TASKS", "PACKAGE_USAGE_STATS"}},
	{ID: "biometrics", Guarded: true, Name: "biometrics and body sensors",
		Help:        "Fingerprint and face authentication, heart rate and other body sensors.",
		Permissions: []string{"USE_BIOMETRIC", "USE_FINGERPRINT", "BODY_SENSORS", "BODY_SENSORS_BACKGROUND"}},
	{ID: "payment", Name: "payment",
		Help:        "In-app billing, payment SDKs and NFC payment.",
		Permissions: []string{"com.android.vending.BILLING", "NFC_PREFERRED_PAYMENT_INFO", "NFC_TRANSACTION_EVENT"}},
}

type probeKind uint8

const (
	pMethod probeKind = iota
	pField
	pType
	pString
	pSubstring
	pClass // class names under a descriptor prefix
)

// probe is one thing to look for in the code and what it means. effect is
// a data category id or a rule id.
type probe struct {
	kind   probeKind
	class  string // descriptor: method, field, type, class prefix
	name   string // member name, or the string
	effect string
	// weak marks evidence that is common in harmless apps; a finding made
	// only of weak evidence gets a lower severity.
	weak bool
	// label names a group inside a finding: the packer, for IDPacker.
	label string
}

func m(class, name, effect string) probe {
	return probe{kind: pMethod, class: class, name: name, effect: effect}
}
func f(class, name, effect string) probe {
	return probe{kind: pField, class: class, name: name, effect: effect}
}
func t(class, effect string) probe { return probe{kind: pType, class: class, effect: effect} }
func s(str, effect string) probe   { return probe{kind: pString, name: str, effect: effect} }
func sub(str, effect string) probe { return probe{kind: pSubstring, name: str, effect: effect} }
func weak(p probe) probe           { p.weak = true; return p }

const (
	tm      = "Landroid/telephony/TelephonyManager;"
	pm      = "Landroid/content/pm/PackageManager;"
	am      = "Landroid/app/ActivityManager;"
	clip    = "Landroid/content/ClipboardManager;"
	oldClip = "Landroid/text/ClipboardManager;"
)

// probes are the framework APIs and strings the rules read. Only the app's
// use of the API is seen, not whose code calls it: an SDK's call counts as
// the app's, as it does at run time.
var probes = []probe{
	// location
	m("Landroid/location/LocationManager;", "getLastKnownLocation", "location"),
	m("Landroid/location/LocationManager;", "requestLocationUpdates", "location"),
	m("Landroid/location/LocationManager;", "requestSingleUpdate", "location"),
	m("Landroid/location/LocationManager;", "getCurrentLocation", "location"),
	m("Lcom/google/android/gms/location/FusedLocationProviderClient;", "getLastLocation", "location"),
	m("Lcom/google/android/gms/location/FusedLocationProviderClient;", "requestLocationUpdates", "location"),
	m(tm, "getCellLocation", "location"),
	m(tm, "getAllCellInfo", "location"),
	m(tm, "getNeighboringCellInfo", "location"),
	m("Landroid/net/wifi/WifiManager;", "getScanResults", "location"),

	// contacts and call log
	t("Landroid/provider/ContactsContract$Contacts;", "contacts"),
	t("Landroid/provider/ContactsContract$CommonDataKinds$Phone;", "contacts"),
	t("Landroid/provider/CallLog$Calls;", "contacts"),
	sub("content://com.android.contacts", "contacts"),
	sub("content://call_log", "contacts"),

	// messages
	m("Landroid/telephony/SmsManager;", "sendTextMessage", "messages"),
	m("Landroid/telephony/SmsManager;", "sendMultipartTextMessage", "messages"),
	m("Landroid/telephony/SmsManager;", "sendDataMessage", "messages"),
	m("Landroid/telephony/SmsMessage;", "createFromPdu", "messages"),
	m("Landroid/telephony/SmsMessage;", "getMessageBody", "messages"),
	t("Landroid/provider/Telephony$Sms;", "messages"),
	sub("content://sms", "messages"),
	sub("content://mms", "messages"),

	// clipboard
	m(clip, "getPrimaryClip", "clipboard"),
	m(clip, "getText", "clipboard"),
	m(clip, "hasPrimaryClip", "clipboard"),
	m(clip, "addPrimaryClipChangedListener", "clipboard"),
	m(oldClip, "getText", "clipboard"),

	// camera and photos
	m("Landroid/hardware/Camera;", "open", "camera-photos"),
	m("Landroid/hardware/Camera;", "takePicture", "camera-photos"),
	m("Landroid/hardware/camera2/CameraManager;", "openCamera", "camera-photos"),
	f("Landroid/provider/MediaStore$Images$Media;", "EXTERNAL_CONTENT_URI", "camera-photos"),
	f("Landroid/provider/MediaStore$Video$Media;", "EXTERNAL_CONTENT_URI", "camera-photos"),

	// microphone
	m("Landroid/media/AudioRecord;", "startRecording", "microphone"),
	m("Landroid/media/MediaRecorder;", "setAudioSource", "microphone"),
	m("Landroid/speech/SpeechRecognizer;", "startListening", "microphone"),

	// phone identifiers
	m(tm, "getDeviceId", "phone-identifiers"),
	m(tm, "getImei", "phone-identifiers"),
	m(tm, "getMeid", "phone-identifiers"),
	m(tm, "getSubscriberId", "phone-identifiers"),
	m(tm, "getSimSerialNumber", "phone-identifiers"),
	m(tm, "getLine1Number", "phone-identifiers"),
	m("Landroid/net/wifi/WifiInfo;", "getMacAddress", "phone-identifiers"),
	m("Ljava/net/NetworkInterface;", "getHardwareAddress", "phone-identifiers"),
	m("Landroid/bluetooth/BluetoothAdapter;", "getAddress", "phone-identifiers"),
	m("Landroid/os/Build;", "getSerial", "phone-identifiers"),
	f("Landroid/os/Build;", "SERIAL", "phone-identifiers"),
	s("android_id", "phone-identifiers"), // Settings.Secure.ANDROID_ID is a constant, inlined as this string
	m("Lcom/google/android/gms/ads/identifier/AdvertisingIdClient;", "getAdvertisingIdInfo", "phone-identifiers"),

	// accounts
	m("Landroid/accounts/AccountManager;", "getAccounts", "accounts"),
	m("Landroid/accounts/AccountManager;", "getAccountsByType", "accounts"),
	m("Landroid/accounts/AccountManager;", "getAccountsByTypeAndFeatures", "accounts"),
	m("Landroid/accounts/AccountManager;", "getAuthToken", "accounts"),
	m("Landroid/accounts/AccountManager;", "getPassword", "accounts"),

	// installed and running apps
	m(pm, "getInstalledPackages", "installed-apps"),
	m(pm, "getInstalledApplications", "installed-apps"),
	m(am, "getRunningAppProcesses", "installed-apps"),
	m(am, "getRunningTasks", "installed-apps"),
	m(am, "getRecentTasks", "installed-apps"),
	m("Landroid/app/usage/UsageStatsManager;", "queryUsageStats", "installed-apps"),

	// biometrics
	m("Landroid/hardware/fingerprint/FingerprintManager;", "authenticate", "biometrics"),
	m("Landroid/hardware/biometrics/BiometricPrompt;", "authenticate", "biometrics"),
	m("Landroidx/biometric/BiometricPrompt;", "authenticate", "biometrics"),

	// payment
	m("Lcom/alipay/sdk/app/PayTask;", "pay", "payment"),
	m("Lcom/alipay/sdk/app/PayTask;", "payV2", "payment"),
	t("Lcom/tencent/mm/opensdk/modelpay/PayReq;", "payment"),
	m("Lcom/android/billingclient/api/BillingClient;", "launchBillingFlow", "payment"),
	t("Lcom/android/vending/billing/IInAppBillingService;", "payment"),
	t("Landroid/nfc/cardemulation/HostApduService;", "payment"),

	// installing other apps
	weak(t("Landroid/content/pm/PackageInstaller;", IDInstall)), // compat libraries reference it
	m("Landroid/content/pm/PackageInstaller;", "createSession", IDInstall),
	m("Landroid/content/pm/PackageInstaller$Session;", "commit", IDInstall),
	s("application/vnd.android.package-archive", IDInstall),
	s("android.intent.action.INSTALL_PACKAGE", IDInstall),

	// loading code at run time
	t("Ldalvik/system/DexClassLoader;", IDDynamicCode),
	m("Ldalvik/system/DexClassLoader;", "<init>", IDDynamicCode),
	m("Ldalvik/system/InMemoryDexClassLoader;", "<init>", IDDynamicCode),
	t("Ldalvik/system/InMemoryDexClassLoader;", IDDynamicCode),
	t("Ldalvik/system/DelegateLastClassLoader;", IDDynamicCode),
	m("Ldalvik/system/DexFile;", "loadDex", IDDynamicCode),
	weak(t("Ldalvik/system/PathClassLoader;", IDDynamicCode)),
	weak(t("Ldalvik/system/BaseDexClassLoader;", IDDynamicCode)),

	// shell commands
	m("Ljava/lang/Runtime;", "exec", IDShell),
	m("Ljava/lang/ProcessBuilder;", "start", IDShell),

	// the Weibo SDK's install channel
	{kind: pClass, class: "Lcom/sina/weibo/sdk/cmd/", effect: IDWeiboCmd},
	sub("/2/client/common_config", IDWeiboCmd),

	// root checks
	sub("/system/xbin/su", IDRoot),
	sub("/system/bin/su", IDRoot),
	sub("/sbin/su", IDRoot),
	sub("Superuser.apk", IDRoot),
	s("com.noshufou.android.su", IDRoot),
	s("eu.chainfire.supersu", IDRoot),
	s("com.topjohnwu.magisk", IDRoot),
	s("com.koushikdutta.superuser", IDRoot),
	s("test-keys", IDRoot),
	{kind: pClass, class: "Lcom/scottyab/rootbeer/", effect: IDRoot},

	// emulator checks
	sub("goldfish", IDEmulator),
	sub("ranchu", IDEmulator),
	sub("qemu_pipe", IDEmulator),
	sub("ro.kernel.qemu", IDEmulator),
	sub("/dev/socket/qemud", IDEmulator),
	sub("Genymotion", IDEmulator),
	sub("vbox86", IDEmulator),

	// debugger checks
	m("Landroid/os/Debug;", "isDebuggerConnected", IDDebugger),
	m("Landroid/os/Debug;", "waitingForDebugger", IDDebugger),
	sub("TracerPid", IDDebugger),
}

// packerClasses are stub classes of packers and protectors, as public
// packer-identification lists name them (APKiD's rules, ApkCheckPack and
// similar tools, and analyses of samples); only the names are taken.
var packerClasses = []struct {
	prefix, protector, vendor string
}{
	{"Lcom/stub/StubApp", "Jiagu", "Qihoo 360"},
	{"Lcom/tencent/StubShell/", "Legu", "Tencent"},
	{"Lcom/wrapper/proxyapplication/", "Legu", "Tencent"},
	{"Lcom/secneo/apkwrapper/", "Bangcle", "Bangcle / SecNeo"},
	{"Ls/h/e/l/l/", "Ijiami", "Ijiami"},
	{"Lcom/shell/SuperApplication", "Ijiami", "Ijiami"},
	{"Lcom/baidu/protect/", "Baidu protect", "Baidu"},
	{"Lcom/seworks/medusah", "Medusah", "SEWorks"},
}

// Receiver actions that start an app at boot.
var bootActions = []string{
	"android.intent.action.BOOT_COMPLETED",
	"android.intent.action.LOCKED_BOOT_COMPLETED",
	"android.intent.action.QUICKBOOT_POWERON",
	"com.htc.intent.action.QUICKBOOT_POWERON",
	"android.intent.action.REBOOT",
}

// Receiver actions apps use to be woken again.
var restartActions = []string{
	"android.intent.action.MY_PACKAGE_REPLACED",
	"android.intent.action.PACKAGE_REPLACED",
	"android.intent.action.USER_PRESENT",
	"android.net.conn.CONNECTIVITY_CHANGE",
	"android.intent.action.ACTION_POWER_CONNECTED",
	"android.intent.action.ACTION_POWER_DISCONNECTED",
	"android.intent.action.SCREEN_ON",
	"android.intent.action.TIME_TICK",
}

// Permissions of capabilities.
var installPermissions = []string{"REQUEST_INSTALL_PACKAGES", "INSTALL_PACKAGES"}

const apkMIME = "application/vnd.android.package-archive"
