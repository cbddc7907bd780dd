/// How much structure a JSON document may have. Bodies come from anyone on the internet, so every bound is
/// checked while the bytes are read, before the limit is passed: a document 10,000 levels deep is refused
/// at its 17th `[`, never walked (Foundation's decoder traps past 512 levels and spends seconds before that).
public struct JSONLimits: Sendable, Equatable {
    /// Containers inside containers: `{"a": [1]}` is 2 deep.
    public var maximumDepth: Int
    public var maximumKeysPerObject: Int
    /// Every value counts, containers and keys' values alike.
    public var maximumValues: Int
    /// Bytes between a string's quotes, escapes included.
    public var maximumStringBytes: Int
    /// Characters of one number literal.
    public var maximumNumberLength: Int

    public init(
        maximumDepth: Int = 16,
        maximumKeysPerObject: Int = 256,
        maximumValues: Int = 4096,
        maximumStringBytes: Int = 8192,
        maximumNumberLength: Int = 64
    ) {
        self.maximumDepth = maximumDepth
        self.maximumKeysPerObject = maximumKeysPerObject
        self.maximumValues = maximumValues
        self.maximumStringBytes = maximumStringBytes
        self.maximumNumberLength = maximumNumberLength
    }
}

/// Why a document was refused, and the byte offset where that became clear.
public struct JSONParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        /// Not JSON (RFC 8259): what was expected.
        case syntax(String)
        /// JSON, but beyond a limit of `JSONLimits`.
        case limit(String)
        /// A key that appears twice in one object: readers disagree on which value counts.
        case duplicateKey(String)
    }

    public let reason: Reason
    public let offset: Int

    public var description: String {
        switch self.reason {
        case .syntax(let message), .limit(let message):
            return "\(message) at byte \(self.offset)"
        case .duplicateKey(let key):
            return "the key \"\(key)\" appears twice in one object (at byte \(self.offset))"
        }
    }

    public var isLimit: Bool {
        if case .limit = self.reason { return true }
        return false
    }
}

/// A strict RFC 8259 parser into `JSONValue`, single pass over the bytes, bounded by `JSONLimits`.
///
/// Strict means: UTF-8 only, no comments, no trailing commas, no leading zeros, no NaN or infinities (a
/// number too large for a Double is refused rather than turned into one), no unpaired surrogate escapes,
/// no duplicate keys. The work is linear in the input, and the recursion is at most `maximumDepth` deep.
public struct JSONParser: ~Copyable {
    private let bytes: UnsafeRawBufferPointer
    private let limits: JSONLimits
    private var index = 0
    private var values = 0

    /// Parses a whole document: one value, with only whitespace around it.
    public static func parse(_ bytes: UnsafeRawBufferPointer, limits: JSONLimits = .init()) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(bytes: bytes, limits: limits)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else {
            throw parser.syntax("unexpected \(parser.describeCurrent()) after the end of the document")
        }
        return value
    }

    public static func parse(_ bytes: some Sequence<UInt8>, limits: JSONLimits = .init()) throws(JSONParseError) -> JSONValue {
        let parse = { (buffer: UnsafeBufferPointer<UInt8>) in
            Result { () throws(JSONParseError) -> JSONValue in try Self.parse(UnsafeRawBufferPointer(buffer), limits: limits) }
        }
        let result = bytes.withContiguousStorageIfAvailable(parse) ?? Array(bytes).withUnsafeBufferPointer(parse)
        return try result.get()
    }

    private init(bytes: UnsafeRawBufferPointer, limits: JSONLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    private mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
        self.values += 1
        guard self.values <= self.limits.maximumValues else {
            throw self.limit("more than \(self.limits.maximumValues) values")
        }
        guard let byte = self.peek() else { throw self.syntax("the document ends where a value was expected") }
        switch byte {
        case UInt8(ascii: "{"): return .object(try self.object(depth: depth + 1))
        case UInt8(ascii: "["): return .array(try self.array(depth: depth + 1))
        case UInt8(ascii: "\""): return .string(try self.string())
        case UInt8(ascii: "t"): try self.literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try self.literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try self.literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try self.number())
        default: throw self.syntax("expected a value, found \(self.describeCurrent())")
        }
    }

    private mutating func object(depth: Int) throws(JSONParseError) -> [String: JSONValue] {
        guard depth <= self.limits.maximumDepth else { throw self.limit("nesting deeper than \(self.limits.maximumDepth) levels") }
        self.index += 1  // {
        var object: [String: JSONValue] = [:]
        self.skipWhitespace()
        if self.peek() == UInt8(ascii: "}") {
            self.index += 1
            return object
        }
        while true {
            guard self.peek() == UInt8(ascii: "\"") else { throw self.syntax("expected a key in quotes, found \(self.describeCurrent())") }
            let keyOffset = self.index
            let key = try self.string()
            self.skipWhitespace()
            guard self.peek() == UInt8(ascii: ":") else { throw self.syntax("expected ':' after a key, found \(self.describeCurrent())") }
            self.index += 1
            self.skipWhitespace()
            let value = try self.value(depth: depth)
            guard object.updateValue(value, forKey: key) == nil else {
                // Cut like an unknown field's name: a long key may be something pasted in the wrong place (a token).
                throw JSONParseError(reason: .duplicateKey(key.count > 32 ? key.prefix(32) + "…" : key), offset: keyOffset)
            }
            guard object.count <= self.limits.maximumKeysPerObject else {
                throw JSONParseError(reason: .limit("an object with more than \(self.limits.maximumKeysPerObject) keys"), offset: keyOffset)
            }
            self.skipWhitespace()
            switch self.peek() {
            case UInt8(ascii: ","):
                self.index += 1
                self.skipWhitespace()
            case UInt8(ascii: "}"):
                self.index += 1
                return object
            default:
                throw self.syntax("expected ',' or '}' in an object, found \(self.describeCurrent())")
            }
        }
    }

    private mutating func array(depth: Int) throws(JSONParseError) -> [JSONValue] {
        guard depth <= self.limits.maximumDepth else { throw self.limit("nesting deeper than \(self.limits.maximumDepth) levels") }
        self.index += 1  // [
        var array: [JSONValue] = []
        self.skipWhitespace()
        if self.peek() == UInt8(ascii: "]") {
            self.index += 1
            return array
        }
        while true {
            array.append(try self.value(depth: depth))
            self.skipWhitespace()
            switch self.peek() {
            case UInt8(ascii: ","):
                self.index += 1
                self.skipWhitespace()
            case UInt8(ascii: "]"):
                self.index += 1
                return array
            default:
                throw self.syntax("expected ',' or ']' in an array, found \(self.describeCurrent())")
            }
        }
    }

    private mutating func string() throws(JSONParseError) -> String {
        let start = self.index + 1  // after the opening quote
        var cursor = start
        var hasEscapes = false
        // Find the closing quote first: the common string has no escapes and becomes a String in one copy.
        while true {
            guard cursor < self.bytes.count else {
                self.index = cursor
                throw self.syntax("a string is not closed")
            }
            let byte = self.bytes[cursor]
            if byte == UInt8(ascii: "\"") { break }
            if byte < 0x20 {
                self.index = cursor
                throw self.syntax("a control character (0x\(String(byte, radix: 16))) inside a string must be escaped")
            }
            if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                cursor += 1  // the escaped byte can be a quote
            }
            cursor += 1
            if cursor - start > self.limits.maximumStringBytes {
                self.index = start
                throw self.limit("a string longer than \(self.limits.maximumStringBytes) bytes")
            }
        }
        let raw = UnsafeRawBufferPointer(rebasing: self.bytes[start..<cursor])
        let text: String
        if hasEscapes {
            text = try self.unescaped(raw, offset: start)
        } else {
            guard let valid = String(validating: raw, as: UTF8.self) else {
                self.index = start
                throw self.syntax("a string is not valid UTF-8")
            }
            text = valid
        }
        self.index = cursor + 1
        return text
    }

    private func unescaped(_ raw: UnsafeRawBufferPointer, offset: Int) throws(JSONParseError) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(raw.count)
        var position = 0
        func fail(_ message: String) -> JSONParseError {
            JSONParseError(reason: .syntax(message), offset: offset + position)
        }
        func hexQuad(at start: Int) throws(JSONParseError) -> UInt32 {
            guard start + 4 <= raw.count else { throw fail("\\u needs four hex digits") }
            var value: UInt32 = 0
            for byte in raw[start..<(start + 4)] {
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw fail("\\u needs four hex digits")
                }
                value = value << 4 | UInt32(digit)
            }
            return value
        }
        while position < raw.count {
            let byte = raw[position]
            guard byte == UInt8(ascii: "\\") else {
                output.append(byte)
                position += 1
                continue
            }
            guard position + 1 < raw.count else { throw fail("a string ends with a lone backslash") }
            let escaped = raw[position + 1]
            position += 2
            switch escaped {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(escaped)
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hexQuad(at: position)
                position += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    guard position + 6 <= raw.count, raw[position] == UInt8(ascii: "\\"), raw[position + 1] == UInt8(ascii: "u") else {
                        throw fail("a \\u escape is half of a surrogate pair")
                    }
                    let low = try hexQuad(at: position + 2)
                    guard (0xDC00...0xDFFF).contains(low) else { throw fail("a \\u escape is half of a surrogate pair") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    position += 6
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw fail("a \\u escape is half of a surrogate pair")
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw fail("a \\u escape is not a Unicode scalar") }
                output.append(contentsOf: UTF8.encode(unicode).map { Array($0) } ?? [])
            default:
                throw fail("\\\(Character(Unicode.Scalar(escaped))) is not a JSON escape")
            }
        }
        guard let text = String(validating: output, as: UTF8.self) else {
            throw JSONParseError(reason: .syntax("a string is not valid UTF-8"), offset: offset)
        }
        return text
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, converted only once its grammar is checked.
    private mutating func number() throws(JSONParseError) -> Double {
        let start = self.index
        func digits(_ parser: inout JSONParser) -> Int {
            let from = parser.index
            while let byte = parser.peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { parser.index += 1 }
            return parser.index - from
        }
        if self.peek() == UInt8(ascii: "-") { self.index += 1 }
        if self.peek() == UInt8(ascii: "0") {
            self.index += 1
            if let next = self.peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(next) {
                throw self.syntax("a number cannot start with 0")
            }
        } else if digits(&self) == 0 {
            throw self.syntax("expected a digit, found \(self.describeCurrent())")
        }
        if self.peek() == UInt8(ascii: ".") {
            self.index += 1
            guard digits(&self) > 0 else { throw self.syntax("expected a digit after the decimal point, found \(self.describeCurrent())") }
        }
        if self.peek() == UInt8(ascii: "e") || self.peek() == UInt8(ascii: "E") {
            self.index += 1
            if self.peek() == UInt8(ascii: "+") || self.peek() == UInt8(ascii: "-") { self.index += 1 }
            guard digits(&self) > 0 else { throw self.syntax("expected a digit in the exponent, found \(self.describeCurrent())") }
        }
        guard self.index - start <= self.limits.maximumNumberLength else {
            throw JSONParseError(reason: .limit("a number longer than \(self.limits.maximumNumberLength) characters"), offset: start)
        }
        let literal = String(decoding: UnsafeRawBufferPointer(rebasing: self.bytes[start..<self.index]), as: UTF8.self)
        guard let value = Double(literal), value.isFinite else {
            throw JSONParseError(reason: .limit("a number too large for a double"), offset: start)
        }
        return value
    }

    private mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let length = word.utf8CodeUnitCount
        let matches = word.withUTF8Buffer { expected in
            self.index + length <= self.bytes.count && self.bytes[self.index..<(self.index + length)].elementsEqual(expected)
        }
        guard matches else { throw self.syntax("expected a value, found \(self.describeCurrent())") }
        self.index += length
    }

    private mutating func skipWhitespace() {
        while let byte = self.peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
            self.index += 1
        }
    }

    private func peek() -> UInt8? {
        self.index < self.bytes.count ? self.bytes[self.index] : nil
    }

    private func describeCurrent() -> String {
        guard let byte = self.peek() else { return "the end of the document" }
        if byte >= 0x21, byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "the byte 0x\(String(byte, radix: 16))"
    }

    private func syntax(_ message: String) -> JSONParseError {
        JSONParseError(reason: .syntax(message), offset: self.index)
    }

    private func limit(_ message: String) -> JSONParseError {
        JSONParseError(reason: .limit(message), offset: self.index)
    }
}
