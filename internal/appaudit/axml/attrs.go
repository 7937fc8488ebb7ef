package axml

// Resource ids of the android: attributes the manifest decoder reads
// (android.R.attr, stable across platform versions).
const (
	AttrLabel                 uint32 = 0x01010001
	AttrIcon                  uint32 = 0x01010002
	AttrName                  uint32 = 0x01010003
	AttrManageSpaceActivity   uint32 = 0x01010004
	AttrAllowClearUserData    uint32 = 0x01010005
	AttrPermission            uint32 = 0x01010006
	AttrReadPermission        uint32 = 0x01010007
	AttrWritePermission       uint32 = 0x01010008
	AttrProtectionLevel       uint32 = 0x01010009
	AttrPermissionGroup       uint32 = 0x0101000a
	AttrSharedUserID          uint32 = 0x0101000b
	AttrHasCode               uint32 = 0x0101000c
	AttrPersistent            uint32 = 0x0101000d
	AttrEnabled               uint32 = 0x0101000e
	AttrDebuggable            uint32 = 0x0101000f
	AttrExported              uint32 = 0x01010010
	AttrProcess               uint32 = 0x01010011
	AttrTaskAffinity          uint32 = 0x01010012
	AttrAuthorities           uint32 = 0x01010018
	AttrGrantURIPermissions   uint32 = 0x0101001b
	AttrValue                 uint32 = 0x01010024
	AttrResource              uint32 = 0x01010025
	AttrMIMEType              uint32 = 0x01010026
	AttrScheme                uint32 = 0x01010027
	AttrHost                  uint32 = 0x01010028
	AttrPort                  uint32 = 0x01010029
	AttrPath                  uint32 = 0x0101002a
	AttrPathPrefix            uint32 = 0x0101002b
	AttrPathPattern           uint32 = 0x0101002c
	AttrPriority              uint32 = 0x0101001c
	AttrMinSDKVersion         uint32 = 0x0101020c
	AttrVersionCode           uint32 = 0x0101021b
	AttrVersionName           uint32 = 0x0101021c
	AttrTargetSDKVersion      uint32 = 0x01010270
	AttrMaxSDKVersion         uint32 = 0x01010271
	AttrTestOnly              uint32 = 0x01010272
	AttrInstallLocation       uint32 = 0x010102b7
	AttrAllowBackup           uint32 = 0x01010280
	AttrBackupAgent           uint32 = 0x0101027f
	AttrRequired              uint32 = 0x0101028e
	AttrIsolatedProcess       uint32 = 0x010103a9
	AttrUsesCleartextTraffic  uint32 = 0x010104ec
	AttrNetworkSecurityConfig uint32 = 0x01010527
	AttrRequestLegacyExternal uint32 = 0x01010603
	AttrVersionCodeMajor      uint32 = 0x01010576
	AttrCompileSDKVersion     uint32 = 0x01010572
	AttrCompileSDKCodename    uint32 = 0x01010573
	AttrAppComponentFactory   uint32 = 0x0101057a
	AttrExtractNativeLibs     uint32 = 0x010104ea
	AttrFullBackupContent     uint32 = 0x010104eb
	AttrUsesPermissionFlags   uint32 = 0x01010644
)

// AndroidNS is the android: namespace URI.
const AndroidNS = "http://schemas.android.com/apk/res/android"

// attrNames maps the ids above to their names, for the by-name fallback when
// a manifest has no resource map entry for an attribute.
var attrNames = map[uint32]string{
	AttrLabel: "label", AttrIcon: "icon", AttrName: "name", AttrPermission: "permission",
	AttrReadPermission: "readPermission", AttrWritePermission: "writePermission",
	AttrProtectionLevel: "protectionLevel", AttrPermissionGroup: "permissionGroup",
	AttrSharedUserID: "sharedUserId", AttrHasCode: "hasCode", AttrPersistent: "persistent",
	AttrEnabled: "enabled", AttrDebuggable: "debuggable", AttrExported: "exported",
	AttrProcess: "process", AttrTaskAffinity: "taskAffinity", AttrAuthorities: "authorities",
	AttrGrantURIPermissions: "grantUriPermissions", AttrValue: "value", AttrResource: "resource",
	AttrMIMEType: "mimeType", AttrScheme: "scheme", AttrHost: "host", AttrPort: "port",
	AttrPath: "path", AttrPathPrefix: "pathPrefix", AttrPathPattern: "pathPattern",
	AttrPriority: "priority", AttrMinSDKVersion: "minSdkVersion", AttrVersionCode: "versionCode",
	AttrVersionName: "versionName", AttrTargetSDKVersion: "targetSdkVersion",
	AttrMaxSDKVersion: "maxSdkVersion", AttrTestOnly: "testOnly", AttrInstallLocation: "installLocation",
	AttrAllowBackup: "allowBackup", AttrBackupAgent: "backupAgent", AttrRequired: "required",
	AttrIsolatedProcess: "isolatedProcess", AttrUsesCleartextTraffic: "usesCleartextTraffic",
	AttrNetworkSecurityConfig: "networkSecurityConfig", AttrRequestLegacyExternal: "requestLegacyExternalStorage",
	AttrVersionCodeMajor: "versionCodeMajor", AttrCompileSDKVersion: "compileSdkVersion",
	AttrCompileSDKCodename: "compileSdkVersionCodename", AttrAppComponentFactory: "appComponentFactory",
	AttrExtractNativeLibs: "extractNativeLibs", AttrFullBackupContent: "fullBackupContent",
	AttrUsesPermissionFlags: "usesPermissionFlags", AttrManageSpaceActivity: "manageSpaceActivity",
	AttrAllowClearUserData: "allowClearUserData",
}
