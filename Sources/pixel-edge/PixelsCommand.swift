import ArgumentParser
import Foundation
import PixelEdgeAdministration
import PixelEdgeCore
import PixelEdgeRelay

struct PixelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pixels",
        abstract: "Create, show, list and remove pixel configurations.",
        subcommands: [SetPixel.self, ListPixels.self, ShowPixel.self, RemovePixel.self, TestPixel.self]
    )
}

/// Turns a `pixel-id` argument into a `PixelID`, or exits with the validation message.
func parsePixelID(_ text: String) throws -> PixelID {
    do {
        return try PixelID(validating: text)
    } catch {
        printError("error: \(error.message)")
        throw ExitCode.failure
    }
}

struct SetPixel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Create or update a pixel; options not given keep their stored values.",
        discussion: "Prints the stored pixel (access token masked) and any warnings. On invalid input it exits with status 1 and changes nothing."
    )

    @Argument(help: "Pixel id: 1 to 64 characters of a-z, 0-9, - and _.")
    var pixelID: String

    @Option(name: .customLong("tiktok-pixel-code"), help: "TikTok Pixel Code: 20 characters, A-Z and 0-9.")
    var tiktokPixelCode: String?

    @Option(
        name: .customLong("tiktok-access-token"),
        help: "Events API access token; - reads it from standard input, keeping it out of the shell history and the process list."
    )
    var tiktokAccessToken: String?

    @Flag(name: .customLong("clear-tiktok-access-token"), help: "Remove the stored access token.")
    var clearTikTokAccessToken = false

    @Option(name: .customLong("tiktok-test-event-code"), help: "Test Event Code (TEST_ plus 8 to 12 letters or digits).")
    var tiktokTestEventCode: String?

    @Flag(name: .customLong("clear-tiktok-test-event-code"), help: "Remove the Test Event Code.")
    var clearTikTokTestEventCode = false

    @Flag(name: .customLong("disable-tiktok"), help: "Keep the TikTok settings but load no TikTok code.")
    var disableTikTok = false

    @Flag(name: .customLong("enable-tiktok"), help: "Load TikTok again after --disable-tiktok.")
    var enableTikTok = false

    @Flag(name: .customLong("remove-tiktok"), help: "Remove the TikTok destination altogether.")
    var removeTikTok = false

    @Option(name: .customLong("meta-pixel-id"), help: "Meta pixel (dataset) ID: digits, usually 15 or 16.")
    var metaPixelID: String?

    @Option(
        name: .customLong("meta-access-token"),
        help: "Meta Conversions API access token; - reads it from standard input, keeping it out of the shell history and the process list."
    )
    var metaAccessToken: String?

    @Flag(name: .customLong("clear-meta-access-token"), help: "Remove the stored Meta access token.")
    var clearMetaAccessToken = false

    @Option(name: .customLong("meta-test-event-code"), help: "Meta Test Event Code (TEST followed by digits).")
    var metaTestEventCode: String?

    @Flag(name: .customLong("clear-meta-test-event-code"), help: "Remove the Meta Test Event Code.")
    var clearMetaTestEventCode = false

    @Flag(name: .customLong("disable-meta"), help: "Keep the Meta settings but load no Meta code.")
    var disableMeta = false

    @Flag(name: .customLong("enable-meta"), help: "Load Meta again after --disable-meta.")
    var enableMeta = false

    @Flag(name: .customLong("remove-meta"), help: "Remove the Meta destination altogether.")
    var removeMeta = false

    @Flag(
        name: .customLong("meta-automatic-events"), inversion: .prefixedNo,
        help: "Leave Meta's automatic events on (button clicks, form matching), which carry no event_id a server copy shares (default off)."
    )
    var metaAutomaticEvents: Bool?

    @Flag(
        name: .customLong("spa-page-views"), inversion: .prefixedNo,
        help: "A single-page app's route change (history.pushState, replaceState to a new URL, popstate) is a page view (default on)."
    )
    var spaPageViews: Bool?

    @Option(name: .customLong("consent"), help: "none (the default) or required: send nothing, from the browser or the server, until the visitor grants consent.")
    var consent: String?

    @Option(
        name: .customLong("default-phone-country"),
        help: "Country calling code (44, 1, ...) of phone numbers typed without one; without it such numbers are not sent."
    )
    var defaultPhoneCountry: String?

    @Flag(name: .customLong("clear-default-phone-country"), help: "Remove the default phone country.")
    var clearDefaultPhoneCountry = false

    @Flag(name: .customLong("limited-data-use"), inversion: .prefixedNo, help: "Send TikTok's limited_data_use with every event (US state privacy laws).")
    var limitedDataUse: Bool?

    @Flag(name: .customLong("verify"), inversion: .prefixedNo, help: "After saving a pixel with an access token, ask each destination with a token (TikTok, Meta) whether it accepts the pixel's credentials, and record the answers as their statuses.")
    var verify = true

    @OptionGroup(title: "Server APIs (for the verification)") var apis: APIOptions

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if self.tiktokTestEventCode != nil, self.clearTikTokTestEventCode {
            throw ValidationError("use either --tiktok-test-event-code or --clear-tiktok-test-event-code, not both")
        }
        if self.tiktokAccessToken != nil, self.clearTikTokAccessToken {
            throw ValidationError("use either --tiktok-access-token or --clear-tiktok-access-token, not both")
        }
        if self.disableTikTok, self.enableTikTok {
            throw ValidationError("use either --disable-tiktok or --enable-tiktok, not both")
        }
        if self.removeTikTok, self.tiktokPixelCode != nil {
            throw ValidationError("use either --remove-tiktok or --tiktok-pixel-code, not both")
        }
        for (given, clear, name) in [
            (self.metaAccessToken != nil, self.clearMetaAccessToken, "meta-access-token"),
            (self.metaTestEventCode != nil, self.clearMetaTestEventCode, "meta-test-event-code"),
        ] where given && clear {
            throw ValidationError("use either --\(name) or --clear-\(name), not both")
        }
        if self.disableMeta, self.enableMeta {
            throw ValidationError("use either --disable-meta or --enable-meta, not both")
        }
        if self.removeMeta, self.metaPixelID != nil {
            throw ValidationError("use either --remove-meta or --meta-pixel-id, not both")
        }
        if self.tiktokAccessToken == "-", self.metaAccessToken == "-" {
            throw ValidationError("only one access token can be read from standard input")
        }
        if self.defaultPhoneCountry != nil, self.clearDefaultPhoneCountry {
            throw ValidationError("use either --default-phone-country or --clear-default-phone-country, not both")
        }
    }

    func run() async throws {
        let id = try parsePixelID(self.pixelID)
        let edit: PixelEdit
        do {
            edit = try self.makeEdit()
        } catch {
            printError("error: \(error.message)")
            throw ExitCode.failure
        }
        let verify = self.verify
        let outcome: PixelAdministration.SaveOutcome
        do {
            outcome = try await self.database.withAdministration(creatingIfMissing: true, apis: self.apis) { administration in
                try await administration.save(edit, for: id, verify: verify, now: Date())
            }
        } catch let error as ConfigurationError {
            printError("error: \(error.message)")
            throw ExitCode.failure
        }
        let saved = outcome.saved
        print(PixelText.describe(saved.pixel, outcome: outcome.word))
        for warning in saved.warnings {
            printError("warning: \(warning.message)")
        }
        // Saved either way: the platforms' answers are worth hearing, not a reason to fail the command.
        for destination in DestinationID.all {
            guard let verification = outcome.verifications[destination] else { continue }
            // TikTok's lines read as they did before Meta; Meta's say whose they are.
            let whose = destination == .tiktok ? "" : " (\(destination.displayName))"
            if verification.ok {
                print("verified\(whose): \(verification.explanation)")
            } else {
                printError("warning: not verified\(whose): \(verification.explanation)")
            }
        }
    }

    private func makeEdit() throws(ConfigurationError) -> PixelEdit {
        var edit = PixelEdit()
        if let text = self.tiktokPixelCode {
            let code = try TikTokPixelCode.parse(text)
            edit.pixelCode = .set(code.value)
            edit.warnings += code.warnings
        } else if self.removeTikTok {
            edit.pixelCode = .clear
            edit.accessToken = .clear
            edit.testEventCode = .clear
        }
        if let given = self.tiktokAccessToken {
            // One line from standard input; its line break is not part of the token.
            let text = given == "-" ? String((readLine(strippingNewline: true) ?? "")) : given
            let token = try TikTokAccessToken.parse(text)
            edit.accessToken = .set(token.value)
            edit.warnings += token.warnings
        } else if self.clearTikTokAccessToken {
            edit.accessToken = .clear
        }
        if let text = self.tiktokTestEventCode {
            let code = try TestEventCode.parse(text)
            edit.testEventCode = .set(code.value)
            edit.warnings += code.warnings
        } else if self.clearTikTokTestEventCode {
            edit.testEventCode = .clear
        }
        if self.enableTikTok { edit.isEnabled = true }
        if self.disableTikTok { edit.isEnabled = false }
        edit.spaPageViews = self.spaPageViews
        edit.consent = try self.consent.map(ConsentMode.parse)
        if let text = self.defaultPhoneCountry {
            let code = try PhoneCountryCode.parse(text)
            edit.defaultPhoneCountry = .set(code.value)
            edit.warnings += code.warnings
        } else if self.clearDefaultPhoneCountry {
            edit.defaultPhoneCountry = .clear
        }
        edit.limitedDataUse = self.limitedDataUse
        edit.meta = try self.makeMetaEdit(warnings: &edit.warnings)
        return edit
    }

    private func makeMetaEdit(warnings: inout [ConfigurationWarning]) throws(ConfigurationError) -> MetaEdit {
        var edit = MetaEdit()
        if let text = self.metaPixelID {
            let id = try MetaPixelID.parse(text)
            edit.pixelID = .set(id.value)
            warnings += id.warnings
        } else if self.removeMeta {
            (edit.pixelID, edit.accessToken, edit.testEventCode) = (.clear, .clear, .clear)
        }
        if let given = self.metaAccessToken {
            let token = try MetaAccessToken.parse(given == "-" ? String(readLine(strippingNewline: true) ?? "") : given)
            edit.accessToken = .set(token.value)
            warnings += token.warnings
        } else if self.clearMetaAccessToken {
            edit.accessToken = .clear
        }
        if let text = self.metaTestEventCode {
            let code = try MetaTestEventCode.parse(text)
            edit.testEventCode = .set(code.value)
            warnings += code.warnings
        } else if self.clearMetaTestEventCode {
            edit.testEventCode = .clear
        }
        if self.enableMeta { edit.isEnabled = true }
        if self.disableMeta { edit.isEnabled = false }
        edit.automaticEvents = self.metaAutomaticEvents
        return edit
    }
}

struct ListPixels: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List every pixel.")

    @Flag(help: "Print JSON, as the admin API does.")
    var json = false

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let pixels = try await self.database.withAdministration(creatingIfMissing: false) { try await $0.allPixels() }
        if self.json {
            print(try PixelDocument.json(["pixels": pixels.map { PixelDocument($0) }]))
        } else {
            print(PixelText.table(pixels))
        }
    }
}

struct ShowPixel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one pixel, its access token masked.")

    @Argument(help: "Pixel id.")
    var pixelID: String

    @Flag(help: "Print JSON, as the admin API does.")
    var json = false

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let id = try parsePixelID(self.pixelID)
        let details: PixelAdministration.Details
        do {
            details = try await self.database.withAdministration(creatingIfMissing: false) { try await $0.details(of: id) }
        } catch let error as PixelNotFound {
            printError("error: \(error.message)")
            throw ExitCode.failure
        }
        let pixel = details.pixel
        print(
            self.json
                ? try PixelDocument.json(details.document)
                : ([PixelText.describe(pixel, outcome: nil)] + DestinationID.all.compactMap { destination in
                    details.destinations[destination].map { PixelText.describe($0, destination: destination) }
                }).joined(separator: "\n")
        )
        if !self.json {
            for warning in pixel.warnings {
                printError("warning: \(warning.message)")
            }
        }
    }
}

struct RemovePixel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a pixel: its bundle answers 404 from then on.")

    @Argument(help: "Pixel id.")
    var pixelID: String

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let id = try parsePixelID(self.pixelID)
        do {
            try await self.database.withAdministration(creatingIfMissing: false) { try await $0.remove(id) }
        } catch let error as PixelNotFound {
            printError("error: \(error.message)")
            throw ExitCode.failure
        }
        print("removed pixel \(id)")
    }
}

struct TestPixel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Ask a destination (TikTok, or Meta) whether it accepts the pixel's credentials, record the answer as its status, and explain it.",
        discussion: "With a Test Event Code, one test event is sent (it shows in Events Manager > Test Events); without, TikTok gets a batch with no event and Meta a read of the pixel, which record nothing. Exits 0 when the platform accepted the credentials, 1 otherwise."
    )

    @Argument(help: "Pixel id.")
    var pixelID: String

    @Option(help: "The destination to ask: tiktok or meta (default: TikTok when the pixel has it, else Meta).")
    var destination: String?

    @OptionGroup(title: "Server APIs") var apis: APIOptions

    @Flag(help: "Print the platform's answer as JSON, as the admin API does.")
    var json = false

    func validate() throws {
        if let destination, !DestinationID.all.map(\.rawValue).contains(destination) {
            let names = DestinationID.all.map(\.rawValue).joined(separator: " or ")
            throw ValidationError("--destination must be \(names), not \"\(destination.prefix(40))\"")
        }
    }

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let id = try parsePixelID(self.pixelID)
        let result: ConnectionTest.Result
        do {
            let destination = self.destination.map(DestinationID.init(rawValue:))
            result = try await self.database.withAdministration(creatingIfMissing: false, apis: self.apis) {
                try await $0.test(id, destination: destination, now: Date())
            }
        } catch let error as PixelNotFound {
            printError("error: \(error.message)")
            throw ExitCode.failure
        } catch let error as ConfigurationError {
            printError("error: \(error.message)")
            throw ExitCode.failure
        }
        if self.json {
            print(try PixelDocument.json(result))
        } else if result.ok {
            print(result.explanation)
        } else {
            printError("error: \(result.explanation)")
        }
        if !result.ok { throw ExitCode.failure }
    }
}
