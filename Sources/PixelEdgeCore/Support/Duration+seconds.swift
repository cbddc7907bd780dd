extension Duration {
    /// The duration in seconds, fractions included (`Date` and SQL columns take seconds or milliseconds).
    package var seconds: Double {
        let (seconds, attoseconds) = self.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
