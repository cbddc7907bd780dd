import ArgumentParser
import Foundation
import Logging
import PixelEdgeApp
import PixelEdgeBundles
import PixelEdgeCore
import PixelEdgeHTTP
import PixelEdgeRelay

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP server.",
        discussion: "The admin API is on when \(AdminToken.environmentVariable) is set in the environment, and answers 404 otherwise."
    )

    @Option(help: "Address to listen on.")
    var host = ServerConfiguration.defaults.host

    @Option(help: "Port to listen on (0 picks a free one, printed at start).")
    var port = ServerConfiguration.defaults.port

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Directory of the bundle's Mustache templates.")
    var templates = ServerConfiguration.defaults.templatesDirectory

    @Option(name: .customLong("public"), help: "Directory of static files served at /.")
    var publicDirectory = ServerConfiguration.defaults.publicDirectory

    @Option(name: .customLong("events-js-url"), help: "URL of TikTok's events.js that bundles load.")
    var eventsJSURL = BundleSettings.tiktokEventsJSURL

    @Option(name: .customLong("fbevents-js-url"), help: "URL of Meta's fbevents.js that bundles of pixels with Meta load.")
    var fbeventsJSURL = BundleSettings.metaFbeventsJSURL

    @Option(name: .customLong("collect-url"), help: "URL bundles send server-side event copies to; a path resolves against pb.js's own URL.")
    var collectURL = "/collect"

    @Option(
        name: .customLong("public-url"),
        help: "URL sites load pb.js from (https://edge.example.com, or with a path prefix): the console's install tag uses it. By default, the address the console is opened at."
    )
    var publicURL: String?

    @Flag(name: .customLong("no-collect"), help: "Bundles send no server-side copies (browser pixel only).")
    var noCollect = false

    @OptionGroup(title: "Server APIs") var apis: APIOptions

    @Option(name: .customLong("trusted-proxy"), help: "A proxy (IP or CIDR) whose X-Forwarded-For is believed for the client IP; repeatable.")
    var trustedProxies: [String] = []

    @Option(name: .customLong("outbox-limit"), help: "/collect answers 429 while this many events wait for TikTok.")
    var outboxLimit = RelaySettings.defaultOutboxLimit

    @Flag(name: .customLong("allow-custom-events"), help: "Accept event names beyond TikTok's standard events.")
    var allowCustomEvents = false

    @Option(name: .customLong("forward-window-ms"), help: "How long events gather before a batch goes to TikTok.")
    var forwardWindowMilliseconds = Int(ForwarderSettings().window / .milliseconds(1))

    @Option(name: .customLong("forward-concurrency"), help: "Pixels whose events are sent to TikTok at once.")
    var forwardConcurrency = ForwarderSettings().concurrency

    @Option(
        name: .customLong("claim-lease"),
        help: "How long a node's claim on the events it sends holds (5m); a node that dies holding claims leaves its events to the others after it. A pass stops when its claim does: keep it longer than a pass (up to 11 calls of 10 s)."
    )
    var claimLease = AgeOption(argument: "5m")!

    @Option(
        name: .customLong("node-name"),
        help: "This node's name on the claims it takes (default: the host name); it must differ between nodes that share a database."
    )
    var nodeName = ProcessInfo.processInfo.hostName

    @Option(
        name: .customLong("max-event-age"),
        help: ArgumentHelp(
            "Events not delivered within this long of their time are marked expired and never sent: 48h, 2d, 90m or seconds.",
            discussion: "TikTok merges a browser event and its server copy only within 48 hours: a copy sent later counts as a second conversion. A longer age (at most 7d) trades double counting for completeness."
        )
    )
    var maxEventAge = AgeOption(argument: "48h")!

    @Flag(help: "Add the demo pixel (id \(PixelEdgeServer.demoPixelID)) if it is missing, and serve the demo's stand-in for TikTok's SDK (/events-stub.js).")
    var demo = false

    @Option(
        name: .customLong("bundle-cache-size"),
        help: "Memory for prepared bundles, as 256M or 2G (default: an eighth of the machine's memory, at most 1G); the least recently asked for are rendered again when asked."
    )
    var bundleCacheSize = ByteSizeOption(bytes: BundleCache.defaultLimit)

    @Option(name: .customLong("max-age"), help: "Cache-Control max-age of bundles, in seconds.")
    var maxAge = BundleCachePolicy().maxAge

    @Option(name: .customLong("s-maxage"), help: "Cache-Control s-maxage (shared caches, CDNs), in seconds.")
    var sharedMaxAge = BundleCachePolicy().sharedMaxAge

    @Option(name: .customLong("stale-while-revalidate"), help: "Cache-Control stale-while-revalidate, in seconds.")
    var staleWhileRevalidate = BundleCachePolicy().staleWhileRevalidate

    @Option(name: .customLong("stale-if-error"), help: "Cache-Control stale-if-error, in seconds.")
    var staleIfError = BundleCachePolicy().staleIfError

    @Option(name: .customLong("reload-interval-ms"), help: "How often to look for configuration changes made by other processes.")
    var reloadIntervalMilliseconds = Int(BundleCacheUpdater.defaultPollInterval / .milliseconds(1))

    @Option(name: .customLong("purge-url"), help: "When a pixel changes, send a purge for its surrogate key (pixel-<id>) here; {key} in the URL is replaced by the key.")
    var purgeURL: String?

    @Option(name: .customLong("purge-method"), help: "HTTP method of the purge request (PURGE for Varnish, POST for Fastly's API).")
    var purgeMethod = "PURGE"

    @Option(name: .customLong("purge-header"), help: "A header sent with each purge, as 'Name: value' (an API token, say); repeatable.")
    var purgeHeaders: [String] = []

    @Option(help: "Event loop threads (default: one per CPU the process may run on).")
    var threads: Int?

    @Option(name: .customLong("idle-timeout"), help: "Seconds a keep-alive connection may wait for its next request.")
    var idleTimeout = ConnectionSettings.defaults.idleTimeout.seconds

    @Option(name: .customLong("head-timeout"), help: "Seconds a request may take from its first byte to the end of its head (then 408).")
    var headTimeout = ConnectionSettings.defaults.headTimeout.seconds

    @Option(name: .customLong("body-timeout"), help: "Seconds a request may take from its head to the end of its body (then 408).")
    var bodyTimeout = ConnectionSettings.defaults.bodyTimeout.seconds

    @Option(name: .customLong("send-timeout"), help: "Seconds a client may leave a response unread before its connection is dropped.")
    var sendTimeout = ConnectionSettings.defaults.sendTimeout.seconds

    @Option(name: .customLong("max-connections"), help: "Open connections; past it the longest idle one is closed for each new one (default: 16384, or fewer with a lower open-file limit).")
    var maxConnections: Int?

    @Option(name: .customLong("drain-timeout"), help: "Seconds requests in flight have to finish after SIGTERM.")
    var drainTimeout = ConnectionSettings.defaults.drainTimeout.seconds

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    @Option(name: .customLong("log-format"), help: "text (swift-log's lines) or json (one object per line, for a log pipeline).")
    var logFormat = "text"

    @Flag(name: .customLong("print-config"), help: "Print the effective configuration, each value with its source (flag, environment, file, default), secrets masked, and exit.")
    var printConfig = false

    @Option(name: .customLong("log-requests"), help: "The share of requests logged, from 0 (none) to 1 (every one), e.g. 0.01.")
    var logRequests = 0.0

    /// The checks of what only the command line has (URLs, headers, the log level); then the ranges, which
    /// are the library's (`ServerConfiguration.validate()`), reported with the option's name.
    func validate() throws {
        // A token file that cannot be read, or both the token and its file: refused before starting.
        _ = try ServeEnvironment().adminToken()
        if let purgeURL, let problem = URLOption.problem(with: purgeURL, allowRelative: false) {
            throw ValidationError("--purge-url \(problem)")
        }
        for header in self.purgeHeaders where Self.header(header) == nil {
            throw ValidationError("--purge-header must look like 'Name: value'")
        }
        guard ["text", "json"].contains(self.logFormat) else {
            throw ValidationError("--log-format must be text or json, not \(self.logFormat)")
        }
        guard Logger.Level(rawValue: self.logLevel) != nil else {
            throw ValidationError("--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), not \(self.logLevel)")
        }
        if let problem = URLOption.problem(with: self.eventsJSURL, allowRelative: false) {
            throw ValidationError("--events-js-url \(problem)")
        }
        // Bundles append ?sdkid=CODE&lib=ttq, as TikTok's base code does: a query of its own would break the URL.
        if self.eventsJSURL.contains("?") || self.eventsJSURL.contains("#") {
            throw ValidationError("--events-js-url must not have a query or a fragment: bundles add ?sdkid=CODE&lib=ttq to it, as TikTok's base code does")
        }
        if let problem = URLOption.problem(with: self.fbeventsJSURL, allowRelative: false) {
            throw ValidationError("--fbevents-js-url \(problem)")
        }
        if let problem = URLOption.problem(with: self.collectURL, allowRelative: true) {
            throw ValidationError("--collect-url \(problem)")
        }
        if let publicURL = self.publicURL {
            if let problem = URLOption.problem(with: publicURL, allowRelative: false) {
                throw ValidationError("--public-url \(problem)")
            }
            // The tag is this URL followed by /p/ID/pb.js: a query or a fragment would end up in front of that.
            if publicURL.contains("?") || publicURL.contains("#") {
                throw ValidationError("--public-url must not have a query or a fragment: the tag adds /p/ID/pb.js to it")
            }
        }
        do {
            _ = try TrustedProxies(cidrs: self.trustedProxies)
        } catch {
            throw ValidationError(error.message)
        }
        do throws(ConfigurationError) {
            try self.makeConfiguration().validate()
        } catch {
            throw ValidationError(error.field.isEmpty ? error.message : "--\(error.field) \(error.message)")
        }
    }

    /// The server's configuration from the flags: only a mapping, the defaults and ranges being the library's.
    func makeConfiguration() throws(ConfigurationError) -> ServerConfiguration {
        ServerConfiguration(
            host: self.host,
            port: self.port,
            database: self.database.location,
            templatesDirectory: self.templates,
            publicDirectory: self.publicDirectory,
            bundle: BundleSettings(
                eventsJSURL: self.eventsJSURL,
                fbeventsJSURL: self.fbeventsJSURL,
                collectURL: self.noCollect ? nil : self.collectURL,
                cachePolicy: BundleCachePolicy(
                    maxAge: self.maxAge,
                    sharedMaxAge: self.sharedMaxAge,
                    staleWhileRevalidate: self.staleWhileRevalidate,
                    staleIfError: self.staleIfError
                )
            ),
            bundleCacheSize: self.bundleCacheSize.bytes,
            relay: RelaySettings(
                tiktokAPIBase: self.apis.tiktokAPIBase,
                metaAPIBase: self.apis.metaAPIBase,
                metaAPIVersion: try self.apis.version(),
                trustedProxies: try TrustedProxies(cidrs: self.trustedProxies),
                outboxLimit: self.outboxLimit,
                eventNames: EventNames(allowsCustom: self.allowCustomEvents),
                forwarder: {
                    var settings = ForwarderSettings()
                    settings.window = .milliseconds(self.forwardWindowMilliseconds)
                    settings.maximumAge = self.maxEventAge.seconds
                    settings.concurrency = self.forwardConcurrency
                    settings.claimLease = .milliseconds(Int64(clampingMilliseconds: self.claimLease.seconds * 1000))
                    settings.node = self.nodeName
                    return settings
                }()
            ),
            purge: self.purgeURL.map { url in
                CDNPurger.Settings(url: url, method: self.purgeMethod, headers: self.purgeHeaders.compactMap(Self.header))
            },
            adminToken: self.adminToken.map(AdminToken.init),
            reloadInterval: .milliseconds(self.reloadIntervalMilliseconds),
            demo: self.demo,
            threads: self.threads,
            connections: ConnectionSettings(
                idleTimeout: .seconds(self.idleTimeout),
                headTimeout: .seconds(self.headTimeout),
                bodyTimeout: .seconds(self.bodyTimeout),
                sendTimeout: .seconds(self.sendTimeout),
                maximumConnections: self.maxConnections ?? ConnectionSettings.defaultMaximumConnections,
                drainTimeout: .seconds(self.drainTimeout)
            ),
            publicURL: self.publicURL,
            requestLogRate: self.logRequests
        )
    }

    /// `PIXELEDGE_ADMIN_TOKEN`, or the file `PIXELEDGE_ADMIN_TOKEN_FILE` names (read by `validate()`).
    private var adminToken: String? {
        try? ServeEnvironment().adminToken()
    }

    func run() async throws {
        if self.printConfig {
            print(try ServeConfigurationReport.text(arguments: Array(CommandLine.arguments.dropFirst(2)), environment: ServeEnvironment()))
            return
        }
        // Once per process, before any logger is made (Hummingbird's included).
        if self.logFormat == "json" {
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label) }
        } else {
            LoggingSystem.bootstrap { label in TextLogHandler(label: label) }
        }
        var logger = Logger(label: "pixel-edge")
        logger.logLevel = Logger.Level(rawValue: self.logLevel) ?? .info
        // Before the default connection limit is worked out from it.
        let fileLimit = FileDescriptorLimit.raiseToMaximum()
        let configuration = try self.makeConfiguration()
        if configuration.connections.maximumConnections > fileLimit - 64 {
            logger.warning(
                "--max-connections is close to the open-file limit: accepting may fail before the limit is reached",
                metadata: ["maxConnections": "\(configuration.connections.maximumConnections)", "openFileLimit": "\(fileLimit)"]
            )
        }
        let server: PixelEdgeServer
        do {
            server = try PixelEdgeServer(configuration: configuration, logger: logger)
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        if configuration.adminToken == nil {
            logger.notice("admin API is off: set \(AdminToken.environmentVariable) to turn it on")
        }
        try await server.run()
    }
}

extension ServeCommand {
    static func header(_ text: String) -> (name: String, value: String)? {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, !parts[0].isEmpty, !parts[0].contains(" ") else { return nil }
        return (String(parts[0]), parts[1].trimmingCharacters(in: .whitespaces))
    }
}

enum URLOption {
    /// Nil when `value` is an http(s) URL (or, when allowed, a path starting with `/`); otherwise what is wrong.
    static func problem(with value: String, allowRelative: Bool) -> String? {
        if allowRelative, value.hasPrefix("/"), !value.hasPrefix("//") { return nil }
        guard value.hasPrefix("https://") || value.hasPrefix("http://"), value.count > "https://".count else {
            return allowRelative
                ? "must be an http(s) URL or a path starting with /, not \(value)"
                : "must be an http(s) URL, not \(value)"
        }
        guard !value.contains(where: { $0.isWhitespace }) else { return "must not contain whitespace" }
        return nil
    }
}
