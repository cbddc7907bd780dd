extension DeliveryStatus {
    /// What the status means for the operator and what to do about it, in plain words: the admin API,
    /// `pixels show` and the console's cards say it the same way.
    public func explanation(pixelCode: String) -> String {
        Self.explanation(of: self.state, code: self.lastError?.code, message: self.lastError?.message, pixelCode: pixelCode)
    }

    /// The same for TikTok's answer before it is recorded (the connection test's).
    public static func explanation(of state: State, code: Int?, message: String?, pixelCode: String) -> String {
        let answer = message.map { message in " (\(code.map { "\($0): " } ?? "")\(message))" } ?? ""
        switch state {
        case .ok:
            return "TikTok accepted the last test or batch."
        case .invalidPixelCode:
            return "TikTok rejected the Pixel Code \(pixelCode)\(answer). Check in Events Manager that the pixel is Active and that the code matches exactly, including its uppercase letters."
        case .invalidAccessToken:
            return "TikTok rejected the access token\(answer). Generate a new one in Events Manager > pixel \(pixelCode) > Settings and save it with the pixel."
        case .rateLimited:
            return "TikTok is rate-limiting this access token\(answer). Events are retried; test again in a minute."
        case .unreachable:
            return "TikTok's Events API could not be reached\(answer). Check that this server can reach it (and --tiktok-api-base), then test again."
        }
    }
}
