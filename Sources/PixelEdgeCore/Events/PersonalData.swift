/// Finds email addresses and phone numbers in text that should hold neither (ids, URLs, event properties),
/// so that no raw one is stored or sent to TikTok: TikTok may only receive them hashed, in their own fields.
///
/// What counts:
/// - an email address: `local@domain.tld`, the top-level domain at least two letters;
/// - a phone number: 7 to 15 digits that start with `+`, or that are written in at least two groups
///   separated by spaces, dots, dashes or parentheses (`(415) 555-0123`, `06 12 34 56 78`).
///
/// A plain run of digits is not a phone number: order ids, content ids and timestamps look the same, and
/// TikTok needs those intact. Dates (`2026-11-26`, `26.11.2026`), IPv4 addresses, decimals and numbers with
/// thousands separators are not phone numbers either. Digits glued to letters (`SKU415-555-0123`) are part
/// of an identifier.
public enum PersonalData {
    public enum Kind: Sendable, Equatable, CustomStringConvertible {
        case emailAddress
        case phoneNumber

        public var description: String {
            switch self {
            case .emailAddress: "an email address"
            case .phoneNumber: "a phone number"
            }
        }

        /// What stands in a text for what was removed.
        public var placeholder: String {
            switch self {
            case .emailAddress: "[redacted email]"
            case .phoneNumber: "[redacted phone]"
            }
        }
    }

    public struct Match: Sendable, Equatable {
        public let kind: Kind
        /// UTF-8 offsets in the text.
        public let range: Range<Int>
    }

    /// Every match, in order, not overlapping.
    public static func matches(in text: String) -> [Match] {
        var text = text
        return text.withUTF8 { bytes in
            let emails = Self.emailAddresses(in: bytes)
            let phones = Self.phoneNumbers(in: bytes).filter { phone in !emails.contains { $0.range.overlaps(phone.range) } }
            return (emails + phones).sorted { $0.range.lowerBound < $1.range.lowerBound }
        }
    }

    public static func firstMatch(in text: String) -> Match? {
        self.matches(in: text).first
    }

    /// `text` with every match replaced by its kind's placeholder, or nil when there is none. The result
    /// holds no match either: a placeholder changes what is next to what follows it, so the text is
    /// scanned again; text still holding matches after three passes (built to, most likely) is replaced
    /// whole, which keeps the work linear in the text.
    public static func redacting(_ text: String) -> String? {
        guard var redacted = Self.replacingMatches(in: text) else { return nil }
        for _ in 0..<2 {
            guard let again = Self.replacingMatches(in: redacted) else { return redacted }
            redacted = again
        }
        return Self.matches(in: redacted).isEmpty ? redacted : "[redacted]"
    }

    private static func replacingMatches(in text: String) -> String? {
        let matches = self.matches(in: text)
        guard !matches.isEmpty else { return nil }
        let bytes = Array(text.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var position = 0
        for match in matches {
            output += bytes[position..<match.range.lowerBound]
            output += match.kind.placeholder.utf8
            position = match.range.upperBound
        }
        output += bytes[position...]
        return String(decoding: output, as: UTF8.self)
    }

    // MARK: Email addresses

    private static func emailAddresses(in bytes: UnsafeBufferPointer<UInt8>) -> [Match] {
        var matches: [Match] = []
        var searchFrom = 0
        while let at = bytes[searchFrom...].firstIndex(of: UInt8(ascii: "@")) {
            searchFrom = at + 1
            var start = at
            while start > 0, Self.isLocalPart(bytes[start - 1]) { start -= 1 }
            var end = at + 1
            while end < bytes.count, Self.isDomain(bytes[end]) { end += 1 }
            // A sentence's full stop or a dash after the address is not part of it.
            while end > at + 1, bytes[end - 1] == UInt8(ascii: ".") || bytes[end - 1] == UInt8(ascii: "-") { end -= 1 }
            guard start < at, Self.isDomainName(bytes[(at + 1)..<end]) else { continue }
            if let last = matches.last, last.range.upperBound > start { continue }
            matches.append(Match(kind: .emailAddress, range: start..<end))
            searchFrom = end
        }
        return matches
    }

    private static func isDomainName(_ domain: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        let labels = domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty }), let topLevel = labels.last else { return false }
        // `com`, `museum`, or an internationalised `xn--p1ai`; never all digits (that is an IP address).
        return topLevel.count >= 2 && Self.isLetter(topLevel[topLevel.startIndex]) || topLevel.contains { $0 >= 0x80 }
    }

    private static func isLocalPart(_ byte: UInt8) -> Bool {
        Self.isAlphanumeric(byte) || byte >= 0x80 || "._%+-'".utf8.contains(byte)
    }

    private static func isDomain(_ byte: UInt8) -> Bool {
        Self.isAlphanumeric(byte) || byte >= 0x80 || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
    }

    // MARK: Phone numbers

    private static func phoneNumbers(in bytes: UnsafeBufferPointer<UInt8>) -> [Match] {
        var matches: [Match] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard Self.isDigit(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "(") else {
                index += 1
                continue
            }
            // Digits glued to a letter or digit before them belong to an identifier: skip the whole word
            // (up to a space, which ends a word).
            if index > 0, Self.isAlphanumeric(bytes[index - 1]) {
                while index < bytes.count, bytes[index] != UInt8(ascii: " "),
                    Self.isAlphanumeric(bytes[index]) || Self.isPhoneSeparator(bytes[index])
                {
                    index += 1
                }
                continue
            }
            var end = index
            while end < bytes.count, Self.isDigit(bytes[end]) || Self.isPhoneSeparator(bytes[end]) { end += 1 }
            let runEnd = end
            while end > index, !Self.isDigit(bytes[end - 1]) { end -= 1 }
            defer { index = max(runEnd, index + 1) }
            // ... and so do digits glued to a letter after them.
            if runEnd < bytes.count, Self.isAlphanumeric(bytes[runEnd]), runEnd == end { continue }
            if end > index, Self.isPhoneNumber(bytes[index..<end]) {
                matches.append(Match(kind: .phoneNumber, range: index..<end))
            }
        }
        return matches
    }

    private static func isPhoneNumber(_ run: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        var groups: [Int] = []
        var values: [Int] = []
        var separators = Set<UInt8>()
        var current = 0
        var value = 0
        for byte in run {
            if Self.isDigit(byte) {
                current += 1
                value = value &* 10 &+ Int(byte - UInt8(ascii: "0"))
            } else {
                if current > 0 {
                    groups.append(current)
                    values.append(value)
                }
                current = 0
                value = 0
                separators.insert(byte)
            }
        }
        if current > 0 {
            groups.append(current)
            values.append(value)
        }
        let digits = groups.reduce(0, +)
        guard (7...15).contains(digits) else { return false }
        if run.first == UInt8(ascii: "+") { return true }
        guard groups.count >= 2 else { return false }
        let onlySeparator = separators.count == 1 ? separators.first : nil
        // 1234.5678 is a decimal.
        if onlySeparator == UInt8(ascii: "."), groups.count == 2 { return false }
        // 192.168.100.200 is an address.
        if onlySeparator == UInt8(ascii: "."), groups.count == 4, groups.allSatisfy({ $0 <= 3 }), values.allSatisfy({ $0 <= 255 }) { return false }
        // 1.234.567 and 12 345 678 are amounts.
        if onlySeparator != nil, groups[0] <= 3, groups.dropFirst().allSatisfy({ $0 == 3 }) { return false }
        // 2026-11-26, 26.11.2026, 11-26-2026 (a time may follow).
        if groups.count >= 3 {
            let isYear = { (index: Int) in groups[index] == 4 && (1900...2099).contains(values[index]) }
            if isYear(0), (1...12).contains(values[1]), (1...31).contains(values[2]) { return false }
            if isYear(2), groups[0] <= 2, groups[1] <= 2, (1...31).contains(values[0]), (1...31).contains(values[1]) { return false }
        }
        return true
    }

    private static func isPhoneSeparator(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "(")
            || byte == UInt8(ascii: ")") || byte == UInt8(ascii: "+")
    }

    // MARK: Bytes

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        Self.isDigit(byte) || Self.isLetter(byte)
    }
}
