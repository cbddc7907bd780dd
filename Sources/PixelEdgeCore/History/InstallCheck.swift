/// How the page that sent a server copy looked to pb.js (issue 19): whether TikTok's SDK loaded or was
/// blocked, and whether another copy of TikTok's base code is on the page. pb.js says it in two fields of
/// each copy (`sdk`, `base_code`); the relay counts them per pixel and hour with the match keys, over page
/// views, so that the console can say "on 31 % of page views TikTok's pixel was blocked".
public struct InstallCheck: Sendable, Equatable {
    public enum SDK: String, Sendable {
        /// events.js ran for the pixel.
        case loaded
        /// Its script failed, or it had not run a second after pb.js (a blocker, a failed network).
        case blocked
    }

    /// Nil when pb.js could not tell yet (the page was left first) or sent nothing (older bundles).
    public var sdk: SDK?
    public var baseCode: Bool

    public init(sdk: SDK? = nil, baseCode: Bool = false) {
        self.sdk = sdk
        self.baseCode = baseCode
    }

    /// The counts kept per pixel and hour beside the match keys (the stores' column names): page views, and
    /// of them those with the SDK loaded, blocked, and with another base code on the page.
    public static let countNames = ["pageviews", "sdk_loaded", "sdk_blocked", "base_code"]

    /// What the counts of a period say to the operator, in the console's and the admin API's words.
    public static func findings(in coverage: MatchKeyCoverage) -> [MatchQualityHint] {
        let pageViews = coverage.carrying["pageviews"] ?? 0
        guard pageViews > 0 else { return [] }
        func percent(_ name: String) -> Int { Int((Double(coverage.carrying[name] ?? 0) / Double(pageViews) * 100).rounded()) }
        var findings: [MatchQualityHint] = []
        if (coverage.carrying["sdk_blocked"] ?? 0) > 0 {
            findings.append(
                MatchQualityHint(
                    keys: ["sdk"],
                    message: "on \(percent("sdk_blocked")) % of page views TikTok's pixel was blocked: those events reached TikTok only through PixelEdge"
                )
            )
        }
        if (coverage.carrying["base_code"] ?? 0) > 0 {
            findings.append(
                MatchQualityHint(
                    keys: ["base_code"],
                    message: "TikTok's base code is also on this site (on \(percent("base_code")) % of page views): remove it, pb.js loads TikTok's pixel itself"
                )
            )
        }
        return findings
    }
}
