import Foundation

/// HTTP-date (RFC 9110 §5.6.7): generated as IMF-fixdate, accepted in all three formats recipients must read.
enum HTTPDate {
    private static let formats = [
        "EEE, dd MMM yyyy HH:mm:ss 'GMT'",  // IMF-fixdate
        "EEEE, dd-MMM-yy HH:mm:ss 'GMT'",  // obsolete RFC 850
        "EEE MMM d HH:mm:ss yyyy",  // obsolete asctime
    ]

    private static func formatter(_ format: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = format
        return formatter
    }

    static func format(_ date: Date) -> String {
        formatter(formats[0]).string(from: date)
    }

    /// Parsing is rare (`If-Modified-Since` without `If-None-Match`), so formatters are made per call rather than shared.
    static func parse(_ text: some StringProtocol) -> Date? {
        let trimmed = String(text).trimmingCharacters(in: .whitespaces)
        for format in formats {
            if let date = formatter(format).date(from: trimmed) {
                return date
            }
        }
        return nil
    }
}
