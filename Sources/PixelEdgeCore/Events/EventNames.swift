
/// Which event names `/collect` accepts, and the name each is sent under: TikTok's standard events, plus
/// custom names when the operator allows them (TikTok cannot optimise for custom events, so a typo such as
/// "Purchse" is better caught than forwarded).
///
/// Deduplication needs the same event name on the pixel's and the server's copy (../shared/reference/
/// tiktok.md, "Deduplication"). TikTok's browser SDK sends `CompletePayment` as `Purchase` and `SubmitForm`
/// as `Lead` (section 6), so the server copy is renamed the same way; pb.js renames before either copy
/// leaves, and older bundles' copies are renamed here.
public struct EventNames: Sendable {
    /// One of TikTok's standard events.
    public struct StandardEvent: Sendable, Equatable {
        public let name: String
        /// The name TikTok's SDK and Events API record it under, when it is a legacy name.
        public let sentAs: String?
        /// Why it is listed, for the README's table.
        public let note: String
    }

    /// From the official GTM template's ValidEvents list, Stape's notes on legacy and deprecated names
    /// (tiktok.md section 2) and the SDK's renaming (section 6). `Pageview` is what `ttq.page()` sends.
    public static let table: [StandardEvent] = [
        .init(name: "Pageview", sentAs: nil, note: "ttq.page(); pb.js sends it on load and on each route change"),
        .init(name: "ViewContent", sentAs: nil, note: ""),
        .init(name: "Search", sentAs: nil, note: ""),
        .init(name: "AddToWishlist", sentAs: nil, note: ""),
        .init(name: "AddToCart", sentAs: nil, note: ""),
        .init(name: "InitiateCheckout", sentAs: nil, note: ""),
        .init(name: "AddPaymentInfo", sentAs: nil, note: ""),
        .init(name: "Purchase", sentAs: nil, note: ""),
        .init(name: "CompletePayment", sentAs: "Purchase", note: "legacy: TikTok's SDK sends it as Purchase"),
        .init(name: "Lead", sentAs: nil, note: "listed by Stape, missing from the GTM template"),
        .init(name: "SubmitForm", sentAs: "Lead", note: "legacy: TikTok's SDK sends it as Lead"),
        .init(name: "Contact", sentAs: nil, note: ""),
        .init(name: "Download", sentAs: nil, note: ""),
        .init(name: "CompleteRegistration", sentAs: nil, note: ""),
        .init(name: "Subscribe", sentAs: nil, note: ""),
        .init(name: "CustomizeProduct", sentAs: nil, note: ""),
        .init(name: "FindLocation", sentAs: nil, note: ""),
        .init(name: "Schedule", sentAs: nil, note: ""),
        .init(name: "ApplicationApproval", sentAs: nil, note: ""),
        .init(name: "StartTrial", sentAs: nil, note: ""),
        .init(name: "SubmitApplication", sentAs: nil, note: ""),
        .init(name: "ClickButton", sentAs: nil, note: "deprecated by TikTok, still accepted"),
        .init(name: "PlaceAnOrder", sentAs: nil, note: "deprecated by TikTok, still accepted"),
    ]

    public static let standard: Set<String> = Set(Self.table.map(\.name))
    private static let sentAs: [String: String] = Dictionary(uniqueKeysWithValues: Self.table.compactMap { row in row.sentAs.map { (row.name, $0) } })

    public var allowsCustom: Bool

    public init(allowsCustom: Bool = false) {
        self.allowsCustom = allowsCustom
    }

    /// The name both copies of the event carry: a standard event under TikTok's current name, a custom one
    /// as it is.
    public static func sentName(of name: String) -> String {
        Self.sentAs[name] ?? name
    }

    /// The name to store and send, or the error that says what is wrong with `name`.
    func resolve(_ name: String) throws(CollectError) -> String {
        if Self.standard.contains(name) { return Self.sentName(of: name) }
        if let standard = Self.standard.first(where: { $0.lowercased() == name.lowercased() }) {
            throw CollectError(.invalid, field: "event", "unknown event \"\(name)\": TikTok's event names are case-sensitive, use \"\(standard)\"")
        }
        guard self.allowsCustom else {
            throw CollectError(
                .invalid, field: "event",
                "unknown event \"\(name)\": use one of TikTok's standard events (\(Self.standard.sorted().joined(separator: ", "))), or start the server with --allow-custom-events"
            )
        }
        guard (1...64).contains(name.count), name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw CollectError(.invalid, field: "event", "custom event names are 1 to 64 letters, digits or _")
        }
        return name
    }
}
