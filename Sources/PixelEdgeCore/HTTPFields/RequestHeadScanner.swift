/// Reads an HTTP/1.1 request head on the bytes as they arrived, for the bundle fast path, without
/// building a request object: the method, the target, the version, and each field's name and value.
///
/// It reads only heads written plainly, the way browsers, CDNs and load balancers write them, and calls
/// everything else `notPlain`, to be handed, byte for byte, to NIO's HTTP/1 parser (llhttp, in its strict
/// mode). So what it reads is a subset of what that parser accepts, read the same way; it never refuses
/// anything itself. "Plainly" means (RFC 9112 §3 and §5):
/// - a request line of a common method (`methods`), one space, an origin-form target of the characters RFC 3986 allows
///   unescaped in a path and query, one space, and `HTTP/1.0` or `HTTP/1.1`, ended by CRLF;
/// - fields of a token name, a colon with nothing before it, optional spaces or tabs, then visible ASCII,
///   spaces and tabs (no obs-text, no control byte, no trailing whitespace, not whitespace alone), each
///   ended by CRLF; no line
///   folding; at most `maximumFields` of them;
/// - no `Content-Length`, `Transfer-Encoding`, `Upgrade` or `Expect`: a request without a body, and only
///   HTTP after it;
/// - nothing before the request line (RFC 9112 §2.2 lets a server skip empty lines there; llhttp does,
///   this scanner leaves them to it), and the whole head, up to its empty line, within `maximumLength`.
///
/// `Tests/fuzz` holds a target that feeds the same bytes to both and fails on any head they read
/// differently; `RequestHeadScannerTests` holds the cases found and the rules above one by one.
public enum RequestHeadScanner {
    /// Longer heads go to NIO's parser, which allows 80 KiB; browsers' heads are 0.5 to 2 KB.
    public static let maximumLength = 8 * 1024
    public static let maximumFields = 64
    /// The methods read here, all of which llhttp knows: another method (llhttp refuses those it does not
    /// know, and reads CONNECT's target its own way) is NIO's to read, or refuse, from its first byte.
    static let methods = ["GET", "HEAD", "POST", "OPTIONS", "PUT", "PATCH", "DELETE"]

    public enum Method: Sendable, Equatable {
        case get
        case head
        case other
    }

    /// A head read in full. Ranges are offsets in the bytes scanned.
    public struct Head: Sendable, Equatable {
        /// Bytes from the request line to the empty line, both included: the request's every byte (RFC 9112
        /// §6.3: a request without Content-Length or Transfer-Encoding, which are not plain, has no body).
        public var length: Int
        public var method: Method
        public var target: Range<Int>
        /// 0 or 1, of HTTP/1.x.
        public var minorVersion: Int
        public var hostFields = 0
        /// Every `Connection` field it has says exactly `keep-alive`.
        public var connectionIsKeepAlive = true
        /// It has a `Connection: keep-alive`.
        public var asksKeepAlive = false

        /// The connection carries another request after this one (RFC 9112 §9.3): HTTP/1.1 unless closed,
        /// HTTP/1.0 only when asked. After any other, llhttp refuses whatever the client still sends.
        public var keepsConnectionOpen: Bool {
            self.connectionIsKeepAlive && (self.minorVersion == 1 || self.asksKeepAlive)
        }

        /// The next request starts right after its bytes.
        public var isWholeRequest: Bool { self.keepsConnectionOpen }

        /// HTTP/1.1, keeping the connection open, with exactly one `Host` (RFC 9112 §3.2).
        public var isPlainHTTP11Request: Bool {
            self.minorVersion == 1 && self.connectionIsKeepAlive && self.hostFields == 1
        }
    }

    public enum Outcome: Sendable, Equatable {
        case head(Head)
        /// Plain so far, without its empty line yet.
        case incomplete
        /// Not plain, or longer than `maximumLength`: for NIO's parser to read.
        case notPlain
    }

    /// Scans the head at the start of `bytes`, calling `field` with each field's kind, name and value
    /// (without its surrounding whitespace) as it goes; what `field` gathered is meaningless unless the
    /// outcome is `head`.
    public static func scan(
        _ bytes: UnsafeRawBufferPointer,
        field: (RequestField, _ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void
    ) -> Outcome {
        var cursor = Cursor(bytes: bytes)
        return cursor.scan(field: field)
    }
}

private let cr = UInt8(ascii: "\r")
private let lf = UInt8(ascii: "\n")
private let space = UInt8(ascii: " ")
private let tab = UInt8(ascii: "\t")

private struct Cursor {
    let bytes: UnsafeRawBufferPointer
    var index = 0

    /// Where the bytes ran out while all was plain: a head still arriving, or one too long to read here.
    var endOfBytes: RequestHeadScanner.Outcome {
        self.bytes.count >= RequestHeadScanner.maximumLength ? .notPlain : .incomplete
    }

    mutating func scan(field: (RequestField, UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) -> RequestHeadScanner.Outcome {
        // The request line.
        let methodEnd = self.skip(while: isTokenByte)
        let methodBytes = UnsafeRawBufferPointer(rebasing: self.bytes[0..<methodEnd])
        guard methodEnd < self.bytes.count else {
            return RequestHeadScanner.methods.contains { $0.utf8.starts(with: methodBytes) } ? self.endOfBytes : .notPlain
        }
        guard self.bytes[methodEnd] == space, RequestHeadScanner.methods.contains(where: { methodBytes.elementsEqual($0.utf8) }) else {
            return .notPlain
        }
        let method: RequestHeadScanner.Method =
            methodBytes.elementsEqual("GET".utf8) ? .get : methodBytes.elementsEqual("HEAD".utf8) ? .head : .other
        self.index = methodEnd + 1
        guard self.index < self.bytes.count else { return self.endOfBytes }
        guard self.bytes[self.index] == UInt8(ascii: "/") else { return .notPlain }
        let targetStart = self.index
        let targetEnd = self.skip(while: isTargetByte)
        guard targetEnd < self.bytes.count else { return self.endOfBytes }
        guard self.bytes[targetEnd] == space else { return .notPlain }
        self.index = targetEnd + 1
        switch self.expect("HTTP/1.") {
        case .no: return .notPlain
        case .short: return self.endOfBytes
        case .yes: break
        }
        guard self.index < self.bytes.count else { return self.endOfBytes }
        let minor = self.bytes[self.index]
        guard minor == UInt8(ascii: "0") || minor == UInt8(ascii: "1") else { return .notPlain }
        self.index += 1
        switch self.expect("\r\n") {
        case .no: return .notPlain
        case .short: return self.endOfBytes
        case .yes: break
        }
        var head = RequestHeadScanner.Head(
            length: 0, method: method, target: targetStart..<targetEnd, minorVersion: minor == UInt8(ascii: "1") ? 1 : 0)

        // The fields, up to the empty line.
        var fields = 0
        while true {
            guard self.index < self.bytes.count else { return self.endOfBytes }
            if self.bytes[self.index] == cr {
                switch self.expect("\r\n") {
                case .no: return .notPlain
                case .short: return self.endOfBytes
                case .yes:
                    head.length = self.index
                    return .head(head)
                }
            }
            let nameStart = self.index
            let nameEnd = self.skip(while: isTokenByte)
            guard nameEnd < self.bytes.count else { return self.endOfBytes }
            // No name (a line folded or starting with whitespace), or anything but a colon right after it.
            guard nameEnd > nameStart, self.bytes[nameEnd] == UInt8(ascii: ":") else { return .notPlain }
            let name = UnsafeRawBufferPointer(rebasing: self.bytes[nameStart..<nameEnd])
            let kind = RequestField(name)
            switch kind {
            case .contentLength, .transferEncoding, .upgrade, .expect:
                // A body (whose end only the decoder knows; llhttp also checks a length's digits as they
                // arrive), or something other than HTTP after the head: the decoder's from here on.
                return .notPlain
            default:
                break
            }
            self.index = nameEnd + 1
            let valueStart = self.skip(while: { $0 == space || $0 == tab })
            // A value of whitespace alone: RFC 9110 §5.5 makes it empty, and parsers differ on that; not plain.
            if valueStart > self.index, valueStart < self.bytes.count, self.bytes[valueStart] == cr { return .notPlain }
            self.index = valueStart
            let valueEnd = self.skip(while: isFieldValueByte)
            guard valueEnd < self.bytes.count else { return self.endOfBytes }
            // A bare LF, a control byte or obs-text ends the value early: not plain.
            guard self.bytes[valueEnd] == cr else { return .notPlain }
            // Trailing whitespace is not part of a value (RFC 9110 §5.5); parsers differ on trimming it.
            if valueEnd > valueStart, self.bytes[valueEnd - 1] == space || self.bytes[valueEnd - 1] == tab { return .notPlain }
            self.index = valueEnd
            switch self.expect("\r\n") {
            case .no: return .notPlain
            case .short: return self.endOfBytes
            case .yes: break
            }
            fields += 1
            guard fields <= RequestHeadScanner.maximumFields else { return .notPlain }
            let value = UnsafeRawBufferPointer(rebasing: self.bytes[valueStart..<valueEnd])
            switch kind {
            case .host: head.hostFields += 1
            case .connection:
                if RequestField.equals(value, "keep-alive") { head.asksKeepAlive = true } else { head.connectionIsKeepAlive = false }
            default: break
            }
            field(kind, name, value)
        }
    }

    /// The index of the first byte from `index` on that `belongs` refuses, or the end of the bytes.
    private func skip(while belongs: (UInt8) -> Bool) -> Int {
        var index = self.index
        while index < self.bytes.count, belongs(self.bytes[index]) { index += 1 }
        return index
    }

    private enum Match { case yes, no, short }

    /// Moves past `literal` if the bytes at `index` are it.
    private mutating func expect(_ literal: StaticString) -> Match {
        literal.withUTF8Buffer { expected in
            for offset in 0..<expected.count {
                guard self.index + offset < self.bytes.count else { return .short }
                guard self.bytes[self.index + offset] == expected[offset] else { return .no }
            }
            self.index += expected.count
            return .yes
        }
    }
}

/// tchar (RFC 9110 §5.6.2).
private func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        true
    case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
        UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
        UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
        true
    default:
        false
    }
}

/// What RFC 3986 allows unescaped in a path and a query: unreserved, sub-delims, ":", "@", "/", "?" and
/// "%" (of a percent-encoding). No fragment, no space, nothing a parser might read its own way.
private func isTargetByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        true
    case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "!"), UInt8(ascii: "$"),
        UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"),
        UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "/"),
        UInt8(ascii: "?"), UInt8(ascii: "%"):
        true
    default:
        false
    }
}

/// Visible ASCII, space and tab (field-vchar without obs-text, RFC 9110 §5.5).
private func isFieldValueByte(_ byte: UInt8) -> Bool {
    (byte >= 0x21 && byte <= 0x7E) || byte == space || byte == tab
}
