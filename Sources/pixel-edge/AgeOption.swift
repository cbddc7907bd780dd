import ArgumentParser

/// A duration on the command line: a number with a unit, `48h`, `2d`, `90m` or `3600s` (seconds without one).
struct AgeOption: ExpressibleByArgument, Sendable {
    let seconds: Double

    init?(argument: String) {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        let unit = argument.last.flatMap { units[$0] }
        guard let number = Double(unit == nil ? argument : String(argument.dropLast())), number.isFinite, number > 0 else { return nil }
        self.seconds = number * (unit ?? 1)
    }

    static var defaultCompletionKind: CompletionKind { .default }

    /// As it would be written: the largest unit that divides it (`48h`, `5m`), for help and `--print-config`.
    var defaultValueDescription: String {
        for (unit, size) in [("d", 86400.0), ("h", 3600), ("m", 60)] where self.seconds >= size && self.seconds.truncatingRemainder(dividingBy: size) == 0 {
            return "\(Int(self.seconds / size))\(unit)"
        }
        return self.seconds == self.seconds.rounded() ? "\(Int(self.seconds))s" : "\(self.seconds)s"
    }
}
