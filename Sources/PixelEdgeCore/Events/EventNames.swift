import HTTPTypes

/// Which event names `/collect` accepts: TikTok's standard events (../shared/reference/tiktok.md §2) and
/// `Pageview`, plus custom names when the operator allows them (TikTok cannot optimise for custom events,
/// so a typo such as "Purchse" is better caught than forwarded).
public struct EventNames: Sendable {
    public static let standard: Set<String> = [
        "ViewContent", "ClickButton", "Search", "AddToWishlist", "AddToCart", "InitiateCheckout", "AddPaymentInfo",
        "CompletePayment", "PlaceAnOrder", "Contact", "Download", "SubmitForm", "CompleteRegistration", "Subscribe",
        "CustomizeProduct", "FindLocation", "Schedule", "ApplicationApproval", "StartTrial", "SubmitApplication",
        "Purchase", "Lead", "Pageview",
    ]

    public var allowsCustom: Bool

    public init(allowsCustom: Bool = false) {
        self.allowsCustom = allowsCustom
    }

    func check(_ name: String) throws(CollectError) {
        if Self.standard.contains(name) { return }
        if let standard = Self.standard.first(where: { $0.lowercased() == name.lowercased() }) {
            throw CollectError(.badRequest, field: "event", "unknown event \"\(name)\": TikTok's event names are case-sensitive, use \"\(standard)\"")
        }
        guard self.allowsCustom else {
            throw CollectError(
                .badRequest, field: "event",
                "unknown event \"\(name)\": use one of TikTok's standard events (\(Self.standard.sorted().joined(separator: ", "))), or start the server with --allow-custom-events"
            )
        }
        guard (1...64).contains(name.count), name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw CollectError(.badRequest, field: "event", "custom event names are 1 to 64 letters, digits or _")
        }
    }
}
