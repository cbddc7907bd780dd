/// Which match keys an event carried: what TikTok (and, for `fbp` and `fbc`, Meta) matches a server event
/// to a person with, and what a Match Score counts. Kept with each stored event (one small integer) so that the
/// console can say which keys are missing without reading the event's data.
public struct MatchKeys: OptionSet, Sendable, Hashable {
    public let rawValue: Int

    public init(rawValue: Int) {
        self.rawValue = rawValue
    }

    public static let email = MatchKeys(rawValue: 1 << 0)
    public static let phone = MatchKeys(rawValue: 1 << 1)
    public static let externalID = MatchKeys(rawValue: 1 << 2)
    public static let ttclid = MatchKeys(rawValue: 1 << 3)
    public static let ttp = MatchKeys(rawValue: 1 << 4)
    public static let ip = MatchKeys(rawValue: 1 << 5)
    public static let userAgent = MatchKeys(rawValue: 1 << 6)
    /// Meta's browser ids (`_fbp`, `_fbc`): Meta's match keys, which TikTok never receives.
    public static let fbp = MatchKeys(rawValue: 1 << 7)
    public static let fbc = MatchKeys(rawValue: 1 << 8)

    /// The keys only one platform receives.
    public static let tiktokOnly: MatchKeys = [.ttclid, .ttp]
    public static let metaOnly: MatchKeys = [.fbp, .fbc]

    /// Every key, with the name the Events API gives it in `user`, in the order the console shows them.
    public static let named: [(key: MatchKeys, name: String)] = [
        (.email, "email"), (.phone, "phone"), (.externalID, "external_id"), (.ttclid, "ttclid"), (.ttp, "ttp"), (.ip, "ip"),
        (.userAgent, "user_agent"), (.fbp, "fbp"), (.fbc, "fbc"),
    ]
    /// The names alone, in that order: the stores' count columns are named so.
    public static let allNames = named.map(\.name)

    public init(carriedBy event: CollectedEvent) {
        var keys: MatchKeys = []
        if event.emailHash != nil { keys.insert(.email) }
        if event.phoneHash != nil { keys.insert(.phone) }
        if event.externalIDHash != nil { keys.insert(.externalID) }
        if event.ttclid != nil { keys.insert(.ttclid) }
        if event.ttp != nil { keys.insert(.ttp) }
        if event.ip != nil { keys.insert(.ip) }
        if event.userAgent != nil { keys.insert(.userAgent) }
        if event.fbp != nil { keys.insert(.fbp) }
        if event.fbc != nil { keys.insert(.fbc) }
        self = keys
    }

    public var names: [String] {
        Self.named.filter { self.contains($0.key) }.map(\.name)
    }
}
