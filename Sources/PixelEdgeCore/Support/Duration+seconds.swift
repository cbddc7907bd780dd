extension Duration {
    /// The duration in seconds, fractions included (`Date` and SQL columns take seconds or milliseconds).
    package var seconds: Double {
        let (seconds, attoseconds) = self.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

extension Int64 {
    /// `milliseconds` rounded, or the nearest Int64 when it is out of range (NaN: 0): stores compute times
    /// from durations that come from outside.
    package init(clampingMilliseconds milliseconds: Double) {
        let rounded = milliseconds.rounded()
        if rounded.isNaN {
            self = 0
        } else if rounded >= 9.2e18 {
            self = .max
        } else if rounded <= -9.2e18 {
            self = .min
        } else {
            self = Int64(rounded)
        }
    }
}
