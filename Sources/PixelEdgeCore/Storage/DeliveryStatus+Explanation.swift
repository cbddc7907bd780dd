extension DeliveryStatus {
    /// What the status means for the operator and what to do about it, in plain words: the admin API,
    /// `pixels show` and the console's cards say it the same way.
    public func explanation(destination: DestinationID = .tiktok, pixelCode: String) -> String {
        Self.explanation(of: self.state, code: self.lastError?.code, message: self.lastError?.message, destination: destination, pixelCode: pixelCode)
    }

    /// The same for an answer before it is recorded (the connection test's). `pixelCode` is the platform's
    /// id of the pixel: TikTok's Pixel Code, Meta's pixel ID.
    public static func explanation(of state: State, code: Int?, message: String?, destination: DestinationID = .tiktok, pixelCode: String) -> String {
        let answer = message.map { message in " (\(code.map { "\($0): " } ?? "")\(message))" } ?? ""
        if destination == .meta { return Self.metaExplanation(of: state, code: code, message: message, answer: answer, pixelID: pixelCode) }
        let kept = "Its events are kept and sent once it is saved."
        switch state {
        case .ok:
            return "TikTok accepted the last test or batch."
        case .invalidPixelCode:
            return "TikTok rejected the Pixel Code \(pixelCode)\(answer). Check in Events Manager that the pixel is Active and that the code matches exactly, including its uppercase letters. \(kept)"
        case .invalidAccessToken:
            return "TikTok rejected the access token\(answer). Generate a new one in Events Manager > pixel \(pixelCode) > Settings and save it with the pixel. \(kept)"
        case .accessTokenExpired:
            return "TikTok says the access token has expired\(answer). Generate a new one in Events Manager > pixel \(pixelCode) > Settings and save it with the pixel. \(kept)"
        case .accessTokenMissing:
            return "TikTok received no access token\(answer). Save the pixel's access token (Events Manager > pixel \(pixelCode) > Settings) with the pixel. \(kept)"
        case .noPermission:
            return "The access token has no permission on pixel \(pixelCode)\(answer). Generate the token in that pixel's own settings in Events Manager, or give its owner access to the pixel, and save it. \(kept)"
        case .rateLimited:
            return "TikTok is rate-limiting this access token\(answer). Events are kept and retried with backoff; test again in a minute."
        case .maintenance:
            return "TikTok's Events API is down for maintenance\(answer). Events are kept and retried with backoff; nothing to change here."
        case .tiktokError, .metaError:
            return "TikTok's Events API answered with an error of its own\(answer). Events are kept and retried with backoff; if it lasts, check TikTok's status."
        case .unexpectedAnswer:
            let words = message.map { ": \($0)" } ?? ""
            return "TikTok answered an unexpected code \(code.map(String.init) ?? "?")\(words). Events are kept and retried with backoff until the maximum event age; if it lasts, check --tiktok-api-base and TikTok's documentation for the code."
        case .unreachable:
            return "TikTok's Events API could not be reached\(answer). Check that this server can reach it (and --tiktok-api-base), then test again."
        }
    }

    /// Meta's Conversions API's answers (`ConversionsAPIAnswer`'s table), with Meta's own places to fix them.
    private static func metaExplanation(of state: State, code: Int?, message: String?, answer: String, pixelID: String) -> String {
        let kept = "Its Meta events are kept and sent once it is saved."
        let newToken = "Generate a new one in Events Manager > Data sources > pixel \(pixelID) > Settings > Conversions API (a system user's token does not expire) and save it with the pixel."
        switch state {
        case .ok:
            return "Meta accepted the last test or batch."
        case .invalidPixelCode:
            return "Meta says pixel \(pixelID) does not exist or cannot be used with this access token\(answer). Check the pixel (dataset) ID in Events Manager > Data sources, and that the token was generated for it. \(kept)"
        case .invalidAccessToken, .accessTokenMissing:
            return "Meta rejected the access token\(answer). \(newToken) \(kept)"
        case .accessTokenExpired:
            return "Meta says the access token has expired\(answer). \(newToken) \(kept)"
        case .noPermission:
            return "The access token has no permission on pixel \(pixelID)\(answer). Generate the token in that pixel's own settings, or give the system user access to the dataset in Business Settings, and save it. \(kept)"
        case .rateLimited:
            return "Meta is throttling this pixel or token\(answer). Events are kept and retried with backoff; test again in a few minutes."
        case .maintenance, .metaError, .tiktokError:
            return "Meta's Conversions API answered with an error of its own\(answer). Events are kept and retried with backoff; if it lasts, check Meta's status (metastatus.com)."
        case .unexpectedAnswer:
            let words = message.map { ": \($0)" } ?? ""
            return "Meta answered an unexpected code \(code.map(String.init) ?? "?")\(words). Events are kept and retried with backoff until the maximum event age; if it lasts, check --meta-api-base, --meta-api-version and Meta's documentation for the code."
        case .unreachable:
            return "Meta's Conversions API could not be reached\(answer). Check that this server can reach it (and --meta-api-base), then test again."
        }
    }
}
