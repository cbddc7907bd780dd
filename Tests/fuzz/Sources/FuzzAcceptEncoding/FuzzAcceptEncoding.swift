import FuzzSupport
import PixelEdgeCore

/// `Accept-Encoding`, negotiated by scanning bytes in place: it must agree with a plain, obviously correct
/// reading of RFC 9110 §12.5.3 written with Strings.
@main
enum Main {
    static func main() { runFuzzer(fuzzAcceptEncoding) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAcceptEncoding(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let value = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let fast = ContentCoding.negotiate(acceptEncoding: value)
    let reference = Reference.negotiate(value)
    precondition(fast == reference, "negotiate(\(value.debugDescription)) gave \(String(describing: fast)), expected \(String(describing: reference))")
    return 0
}

/// The same rules over arrays of bytes, element by element: fields are bytes (RFC 9110 §5.5), so a comma
/// followed by a combining mark is still a comma, which Swift's Characters would not say.
enum Reference {
    static func negotiate(_ value: String) -> ContentCoding? {
        var brotli: Double?
        var gzip: Double?
        var identity: Double?
        var wildcard: Double?
        for element in split(Array(value.utf8), at: UInt8(ascii: ",")) {
            let parts = split(element, at: UInt8(ascii: ";"), maxSplits: 1)
            let name = String(decoding: trim(parts[0]), as: UTF8.self).lowercased()
            guard !name.isEmpty else { continue }
            var quality = 1.0
            if parts.count == 2 {
                let parameter = trim(parts[1])
                guard parameter.count >= 2, parameter[0] | 0x20 == UInt8(ascii: "q") else { continue }
                let afterQ = trim(Array(parameter.dropFirst()))
                guard afterQ.first == UInt8(ascii: "="), let parsed = qvalue(trim(Array(afterQ.dropFirst()))) else { continue }
                quality = parsed
            }
            switch name {
            case "gzip", "x-gzip": gzip = max(gzip ?? 0, quality)
            case "br": brotli = quality
            case "identity": identity = quality
            case "*": wildcard = quality
            default: break
            }
        }
        let brotliQuality = brotli ?? wildcard ?? 0
        let gzipQuality = gzip ?? wildcard ?? 0
        let identityRefused = identity == 0 || (identity == nil && wildcard == 0)
        if max(brotliQuality, gzipQuality) > 0 {
            if let identity, identity > max(brotliQuality, gzipQuality) { return .identity }
            return brotliQuality >= gzipQuality ? .brotli : .gzip
        }
        return identityRefused ? nil : .identity
    }

    static func split(_ bytes: [UInt8], at separator: UInt8, maxSplits: Int = .max) -> [[UInt8]] {
        var parts: [[UInt8]] = [[]]
        for byte in bytes {
            if byte == separator, parts.count <= maxSplits {
                parts.append([])
            } else {
                parts[parts.count - 1].append(byte)
            }
        }
        return parts
    }

    static func trim(_ bytes: [UInt8]) -> [UInt8] {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let start = bytes.firstIndex(where: { !isSpace($0) }), let end = bytes.lastIndex(where: { !isSpace($0) }) else { return [] }
        return Array(bytes[start...end])
    }

    /// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`; "1.5" is read, then refused as over 1.
    static func qvalue(_ bytes: [UInt8]) -> Double? {
        guard let first = bytes.first, first == UInt8(ascii: "0") || first == UInt8(ascii: "1") else { return nil }
        guard bytes.count > 1 else { return Double(first - 48) }
        guard bytes[1] == UInt8(ascii: "."), bytes.count <= 5, bytes[2...].allSatisfy({ (48...57).contains($0) }) else { return nil }
        let value = Double(String(decoding: bytes, as: UTF8.self)) ?? 2
        return value <= 1 ? value : nil
    }
}
