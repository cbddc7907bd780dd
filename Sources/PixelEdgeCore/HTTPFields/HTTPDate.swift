package import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// HTTP-date (RFC 9110 §5.6.7): generated as IMF-fixdate, accepted in all three formats recipients must read.
package enum HTTPDate {
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

    /// The longest valid HTTP-date ("Wednesday, 09-Nov-94 08:49:37 GMT", RFC 850) is 33 bytes: a longer
    /// value is not one, and is refused before any work on it (a junk `If-Modified-Since` of 70 KB once cost
    /// 130 times a whole request).
    package static let maximumLength = 40

    /// Read by hand, in the three formats (IMF-fixdate, RFC 850, asctime), with fixed English names: a
    /// `DateFormatter` per call cost more than the request it was part of, and one shared is not thread-safe.
    package static func parse(_ text: some StringProtocol) -> Date? {
        guard text.utf8.count <= Self.maximumLength else { return nil }
        let text = Substring(text)
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "-" || $0 == "\t" })
        var parts = tm()
        switch tokens.count {
        case 6:
            // IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" or RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT".
            guard tokens[5] == "GMT", let day = Int32(tokens[1]), let month = months.firstIndex(of: String(tokens[2])),
                  var year = Int32(tokens[3]), Self.time(tokens[4], into: &parts)
            else { return nil }
            if tokens[3].count == 2 { year += year < 70 ? 2000 : 1900 } else if tokens[3].count != 4 { return nil }
            (parts.tm_mday, parts.tm_mon, parts.tm_year) = (day, Int32(month), year - 1900)
        case 5:
            // asctime "Sun Nov  6 08:49:37 1994".
            guard let month = months.firstIndex(of: String(tokens[1])), let day = Int32(tokens[2]), Self.time(tokens[3], into: &parts),
                  tokens[4].count == 4, let year = Int32(tokens[4])
            else { return nil }
            (parts.tm_mday, parts.tm_mon, parts.tm_year) = (day, Int32(month), year - 1900)
        default:
            return nil
        }
        guard (1...31).contains(parts.tm_mday) else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
    }

    /// "08:49:37" into `parts`.
    private static func time(_ text: Substring, into parts: inout tm) -> Bool {
        let fields = text.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 3, fields.allSatisfy({ $0.count == 2 }), let hour = Int32(fields[0]), let minute = Int32(fields[1]),
              let second = Int32(fields[2]), (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
        else { return false }
        (parts.tm_hour, parts.tm_min, parts.tm_sec) = (hour, minute, second)
        return true
    }
}
