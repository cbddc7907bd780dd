/// Everything `pixel-edge serve` is configured with.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var databasePath: String
    public var templatesDirectory: String
    public var publicDirectory: String
    public var bundle: BundleSettings
    /// Nil turns the admin API off (it answers 404).
    public var adminToken: AdminToken?
    /// How often the store is checked for changes made by other processes.
    public var reloadInterval: Duration
    /// Adds the demo pixel when missing.
    public var demo: Bool

    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        databasePath: String = "pixeledge.sqlite",
        templatesDirectory: String = "Templates",
        publicDirectory: String = "Public",
        bundle: BundleSettings = .init(),
        adminToken: AdminToken? = nil,
        reloadInterval: Duration = .milliseconds(250),
        demo: Bool = false
    ) {
        self.host = host
        self.port = port
        self.databasePath = databasePath
        self.templatesDirectory = templatesDirectory
        self.publicDirectory = publicDirectory
        self.bundle = bundle
        self.adminToken = adminToken
        self.reloadInterval = reloadInterval
        self.demo = demo
    }
}
