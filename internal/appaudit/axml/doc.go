// Package axml decodes Android binary XML (the compiled AndroidManifest.xml
// and res/*.xml inside an APK) and turns a manifest into a Manifest struct.
//
// The parser is written by hand against the AOSP format as defined in
// frameworks/base/libs/androidfw/include/androidfw/ResourceTypes.h
// (ResChunk_header, ResStringPool, ResXMLTree_*) and follows the tolerance of
// ResXMLTree::setTo in ResourceTypes.cpp, because what matters for an audit
// is what Android itself installs: the top-level chunk type is not checked,
// a declared file size larger than the data is an error, a string that is
// not NUL-terminated is dropped (empty) rather than failing the file, and
// attributes are identified by their resource id (android:name =
// 0x01010003) through the resource map, so that packers that blank or
// scramble attribute name strings are decoded as Android decodes them.
//
// Every read is bounds-checked; memory is bounded by a small multiple of the
// input size; no input makes the parser panic or loop.
//
// axml must never import the other appaudit packages (apk, arsc, apksig, dex):
// label references are resolved through the Resolver interface, which
// arsc.Table satisfies. arsc imports this package for the shared
// string-pool and value primitives.
package axml
