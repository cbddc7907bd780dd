/// What to check when a pixel's events carry a match key too rarely: the usual causes of TikTok's
/// "Match Score = Low", in the words the console shows beside the coverage.
public struct MatchQualityHint: Encodable, Sendable, Equatable {
    /// The keys the hint is about, by their Events API names.
    public let keys: [String]
    public let message: String

    /// Below this share of events, a key counts as low.
    public static let lowShare = 0.5

    /// The hints for a period's coverage; none without events (nothing to judge yet).
    public static func hints(for coverage: MatchKeyCoverage, consentRequired: Bool) -> [MatchQualityHint] {
        guard coverage.events > 0 else { return [] }
        func isLow(_ key: String) -> Bool {
            Double(coverage.carrying[key] ?? 0) / Double(coverage.events) < Self.lowShare
        }
        var hints: [MatchQualityHint] = []
        if isLow("ttp") {
            hints.append(
                MatchQualityHint(
                    keys: ["ttp"],
                    message: "TTP cookie missing: TikTok's browser pixel sets _ttp, so check that the pixel's TikTok destination is enabled, that events.js is not blocked on the site, and that the pb.js tag is at the top of <head> on every page, before any event"
                        + (consentRequired ? "; with consent required, the cookie only exists after the visitor grants it" : "")
                )
            )
        }
        if isLow("email"), isLow("phone") {
            hints.append(
                MatchQualityHint(
                    keys: ["email", "phone"],
                    message: "email and phone are not reaching the server: pb.js reads form fields named email and phone when a form is submitted; name the site's fields so, or call pb(\"identify\", {email, phone}) once the visitor has typed them"
                )
            )
        }
        if isLow("ttclid") {
            hints.append(
                MatchQualityHint(
                    keys: ["ttclid"],
                    message: "ttclid comes only with visitors who arrive from a TikTok ad; direct and organic traffic has none, so a low share is normal unless most visits come from ads"
                )
            )
        }
        if isLow("ip") || isLow("user_agent") {
            hints.append(
                MatchQualityHint(
                    keys: ["ip", "user_agent"],
                    message: "IP address or User-Agent missing: behind a proxy or CDN, start pixel-edge serve with --trusted-proxy for it, so that the visitor's address is read from X-Forwarded-For"
                )
            )
        }
        return hints
    }
}
