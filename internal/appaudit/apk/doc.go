// Package apk opens Android application containers — APK, XAPK, split-APK
// sets (.apks/.apkm), JAR/AAR and bare DEX — lists their entries, reads
// entries under configurable limits, and walks nested archives (an APK in
// assets/, a JAR in a JAR, a DEX anywhere) to a bounded depth.
//
// ZIP decoding is archive/zip. Where Android's own zip reader
// (libziparchive) is more lenient than archive/zip, this package follows
// Android, because the audit must see what the device installs: the
// encryption flag is ignored, an unknown compression method is inflated as
// deflate (the BadPack trick), sizes come from the central directory, and
// entry names are not required to be safe paths (nothing is ever written to
// disk). Every limit breach is a *LimitError naming the file and the entry.
//
// apk must never import the manifest, resource, signature or DEX parsers
// (axml, arsc, apksig, dex, elfscan): it hands out bytes, they parse them.
package apk
