import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// HTTP-date (RFC 9110 §5.6.7): generated as IMF-fixdate, accepted in all three formats recipients must read.
package enum HTTPDate {
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

    /// `Sun, 06 Nov 1994 08:49:37 GMT`, from gmtime and fixed English names: no formatter to build (it would
    /// cost more than rendering a bundle) and no dependence on the process's locale.
    package static func format(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }

    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Parsing is rare (`If-Modified-Since` without `If-None-Match`), so formatters are made per call rather than shared.
    package static func parse(_ text: some StringProtocol) -> Date? {
        let trimmed = String(text).trimmingCharacters(in: .whitespaces)
        for format in formats {
            if let date = formatter(format).date(from: trimmed) {
                return date
            }
        }
        return nil
    }
}
