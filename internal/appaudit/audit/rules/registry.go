package rules

import "github.com/outflow-dev/outflow/internal/appaudit/audit/finding"

// Rule ids. They are stable: reports, SARIF and users' suppressions use them.
const (
	// Entities (raised by the audit package).
	IDAppOwner    = "app-owner-of-concern"
	IDSigner      = "signer-of-concern"
	IDSDK         = "sdk-of-concern"
	IDEndpoint    = "endpoint-of-concern"
	IDPolicy      = "policy-verdict"
	IDIncomplete  = "incomplete"
	IDWeiboCmd    = "weibo-cmd-installer"
	IDInstall     = "install-packages"
	IDDynamicCode = "dynamic-code-loading"
	IDShell       = "shell-exec"
	IDBoot        = "boot-start"
	IDRestart     = "self-restart"
	IDPacker      = "packer"
	IDRoot        = "root-check"
	IDEmulator    = "emulator-check"
	IDDebugger    = "debugger-check"
	IDEncoded     = "encoded-strings"
	IDHiddenDex   = "hidden-dex"
	IDBrokenCode  = "malformed-code"
	IDNoManifest  = "no-manifest"
	IDBadManifest = "manifest-malformed"
	IDNoResources = "no-resources"
	IDBadRes      = "resources-malformed"
	IDBadDex      = "dex-malformed"
	IDBadArchive  = "archive-malformed"
	IDLimit       = "limit-reached"
	IDBadSig      = "signature-malformed"
	IDUnsigned    = "unsigned"
	IDDataPrefix  = "personal-data-" // + category id, one per category, info
)

func rule(id string, c finding.Category, sev finding.Severity, title, help string) finding.Rule {
	return finding.Rule{ID: id, Category: c, Severity: sev, Title: title, Help: help}
}

var registry = []finding.Rule{
	rule(IDAppOwner, finding.CatEntity, finding.High, "The app belongs to an entity of concern",
		"The package name is catalogued as an app of this entity. The owner chain and official lists say why it matters."),
	rule(IDSigner, finding.CatEntity, finding.High, "The app is signed by an entity of concern",
		"The signer certificate's organisation is catalogued for this entity: whoever holds the key can ship updates."),
	rule(IDSDK, finding.CatEntity, finding.Medium, "An SDK of an entity of concern is embedded",
		"Classes under a catalogued package prefix are in the app's code. The SDK runs with all of the app's permissions and can reach all of the data listed for the app."),
	rule(IDEndpoint, finding.CatEndpoint, finding.Low, "A host of an entity of concern is in the app",
		"A URL or hostname in the app's code or resources is catalogued for this entity. It shows where the app may connect; a capture (outflow scan) shows whether it does."),
	rule(IDPolicy, finding.CatEntity, finding.High, "The policy does not allow this app",
		"A rule of the policy matches an entity of the app: its owner, its signer, an SDK it embeds or a host it names."),
	rule(IDWeiboCmd, finding.CatCapability, finding.High, "Weibo SDK command channel that can download and install apps",
		"The Weibo SDK's com.sina.weibo.sdk.cmd package (WbAppActivator, AppInstallCmdExecutor) polls api.weibo.cn/2/client/common_config and can fetch and install an APK: the mechanism GRIMM and Synacktiv found in DJI GO 4 (2020). Remove the SDK or use a version without the cmd package."),
	rule(IDInstall, finding.CatCapability, finding.Medium, "The app can install other apps",
		"The install permission, the PackageInstaller API, an install intent or the APK MIME type: the app can hand APKs to the installer, so what runs on the device can change outside the store."),
	rule(IDDynamicCode, finding.CatCapability, finding.Medium, "The app loads code at run time",
		"Class loaders for DEX files or APKs, or code nested inside the app: what the app runs can differ from what was reviewed."),
	rule(IDShell, finding.CatCapability, finding.Low, "The app runs shell commands",
		"Runtime.exec or ProcessBuilder: the app starts other programs."),
	rule(IDBoot, finding.CatCapability, finding.Low, "The app starts at boot",
		"A receiver for BOOT_COMPLETED (or a vendor's quick-boot action) starts the app's code without the user opening it."),
	rule(IDRestart, finding.CatCapability, finding.Low, "The app restarts itself on system events",
		"Receivers for package replacement, screen unlock or connectivity changes wake the app's code again and again."),
	rule(IDPacker, finding.CatAntiAnalysis, finding.Medium, "The app is packed or protected",
		"Files, library marks or stub classes of a packer: the real code is encrypted and loaded at run time, so a static audit sees only part of the app."),
	rule(IDRoot, finding.CatAntiAnalysis, finding.Low, "The app checks for root",
		"Paths of su binaries or root-manager packages: the app behaves differently on rooted (analysis) devices."),
	rule(IDEmulator, finding.CatAntiAnalysis, finding.Low, "The app checks for an emulator",
		"Emulator device names and files: the app behaves differently in analysis sandboxes."),
	rule(IDDebugger, finding.CatAntiAnalysis, finding.Low, "The app checks for a debugger",
		"Debug.isDebuggerConnected, waitingForDebugger or TracerPid: the app resists dynamic analysis."),
	rule(IDEncoded, finding.CatAntiAnalysis, finding.Medium, "The app's strings are encoded",
		"Many string constants look encrypted or encoded (high entropy, base64 or hex): URLs and keys are hidden from static analysis and decoded at run time."),
	rule(IDHiddenDex, finding.CatAntiAnalysis, finding.Medium, "DEX files the runtime does not load",
		"classes*.dex names outside the loading sequence (classes1.dex, classes02.dex, past a gap): code shown to analysers but not run, or the reverse."),
	rule(IDBrokenCode, finding.CatAntiAnalysis, finding.Low, "Code items that cannot be read",
		"Some method bodies or class data are malformed, which protectors produce to break disassemblers."),
	rule(IDNoManifest, finding.CatInput, finding.Info, "No AndroidManifest.xml",
		"The archive is not an installable APK (a patch, plug-in or library): its code was audited, its permissions are unknown."),
	rule(IDBadManifest, finding.CatInput, finding.Medium, "The manifest cannot be read",
		"AndroidManifest.xml is malformed; Android refuses to install such an APK, so it is either broken or crafted against analysers."),
	rule(IDNoResources, finding.CatInput, finding.Info, "No resources.arsc",
		"The app has no compiled resources: no label and no resource strings to search."),
	rule(IDBadRes, finding.CatInput, finding.Low, "resources.arsc cannot be read",
		"The resource table is malformed: the label and resource strings are missing from the report."),
	rule(IDBadDex, finding.CatInput, finding.Medium, "A DEX file cannot be read",
		"A DEX file is malformed or of a format other than DEX: its code was not audited."),
	rule(IDBadArchive, finding.CatInput, finding.Medium, "Part of the archive cannot be read",
		"An entry or nested archive is malformed: what it holds was not audited."),
	rule(IDLimit, finding.CatInput, finding.Medium, "A limit stopped the audit of part of the app",
		"An entry was larger, deeper or more compressed than the configured limits allow (a zip bomb, or a very large app): raise the limit to audit it."),
	rule(IDBadSig, finding.CatInput, finding.Low, "A signature block cannot be read",
		"A v1 signature file or the APK Signing Block is malformed: the signer may be missing from the report."),
	rule(IDIncomplete, finding.CatInput, finding.High, "The app was not fully read: it cannot be cleared",
		"A limit or a read error left part of the app unread (the evidence lists what). What decides a verdict (the package name, the signers, the SDK classes) may be in that part, so the audit fails closed: the app counts as of concern and its verdict under a policy is \"incomplete\" (exit status 3), never allow, unless what was read already blocks it. Raise the limit named (--max-manifest-size, --max-entry-size, --max-ratio, --max-depth...) or examine the file by hand."),
	rule(IDUnsigned, finding.CatInput, finding.Info, "The app is not signed",
		"No v1 signature and no APK Signing Block: Android does not install it as it is."),
}

// Rules lists every rule, data categories last.
func Rules() []finding.Rule {
	out := append([]finding.Rule(nil), registry...)
	for _, c := range categories {
		out = append(out, finding.Rule{ID: IDDataPrefix + c.ID, Category: finding.CatData, Severity: finding.Info,
			Title: "The app can reach " + c.Name, Help: c.Help})
	}
	return out
}

var byID = func() map[string]finding.Rule {
	m := map[string]finding.Rule{}
	for _, r := range Rules() {
		m[r.ID] = r
	}
	return m
}()

// Lookup returns the rule with this id.
func Lookup(id string) (finding.Rule, bool) {
	r, ok := byID[id]
	return r, ok
}

// New makes a finding of a registered rule with its usual severity.
func New(id string, ev ...finding.Evidence) finding.Finding {
	r, _ := Lookup(id)
	return finding.Finding{ID: id, Severity: r.Severity, Category: r.Category, Title: r.Title, Evidence: ev}
}
