import ArgumentParser

/// A size on the command line: bytes, or a number with a binary unit, `512K`, `256M`, `2G` (also `256MiB`).
struct ByteSizeOption: ExpressibleByArgument, Sendable {
    let bytes: Int

    init(bytes: Int) {
        self.bytes = bytes
    }

    /// As it would be written: the largest unit that divides it (`1G`, `512M`), for help and `--print-config`.
    var defaultValueDescription: String {
        for (unit, size) in [("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)] where self.bytes >= size && self.bytes % size == 0 {
            return "\(self.bytes / size)\(unit)"
        }
        return "\(self.bytes)"
    }

    init?(argument: String) {
        let units: [String: Int] = ["": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30]
        let digits = argument.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let number = Int(digits), let unit = units[argument.dropFirst(digits.count).uppercased()] else { return nil }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: unit)
        guard !overflow else { return nil }
        self.bytes = bytes
    }

    static var defaultCompletionKind: CompletionKind { .default }
}
