import Foundation
import Subprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL server of the tests' own: a copy of a data directory made once per test process with
/// `initdb`, started (`postgres` itself) on a free port in a temporary directory, stopped and removed after
/// the test. Never a system service. Without PostgreSQL installed (Debian's `postgresql`, which `Tests/run`
/// installs) the test fails, saying so; it is never skipped.
final class PostgresServer: Sendable {
    let port: Int
    let url: String
    private let directory: URL

    /// Runs `body` against a fresh server, stopped afterwards whatever happens.
    static func with<T: Sendable>(_ body: @Sendable (PostgresServer) async throws -> T) async throws -> T {
        let server = try await PostgresServer.start()
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    /// The server process itself: `postgres`, not `pg_ctl`, whose server outlives it as a daemon.
    private let process: ChildProcess

    private init(port: Int, directory: URL, process: ChildProcess) {
        self.port = port
        self.url = "postgres://pixeledge@127.0.0.1:\(port)/postgres"
        self.directory = directory
        self.process = process
    }

    private static func start() async throws -> PostgresServer {
        let (binaries, template) = try await Self.template.value
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pixeledge-postgres-\(UUID().uuidString)")
        try await Self.run("/bin/cp", ["-a", template.path, directory.path], asPostgres: false)
        let port = try Self.freePort()
        let process = try await ChildProcess.start(Self.command([
            binaries.appendingPathComponent("postgres").path, "-D", directory.appendingPathComponent("data").path, "-p", "\(port)",
            "-c", "listen_addresses=127.0.0.1", "-k", directory.path, "-c", "fsync=off", "-c", "max_connections=200",
            // In English whatever the machine's locale: the start is awaited on PostgreSQL's own words.
            "-c", "lc_messages=C",
        ]))
        let server = PostgresServer(port: port, directory: directory, process: process)
        do {
            // PostgreSQL says so once it takes connections (in well under a second); a server that fails to
            // start ends the wait at once, with what it printed.
            _ = try await withDeadline(.seconds(30), "PostgreSQL to accept connections on port \(port)") {
                try await process.output.line(containing: "ready to accept connections")
            }
        } catch {
            await server.stop()
            throw PostgresUnavailable(message: "PostgreSQL did not start on port \(port): \(error)")
        }
        return server
    }

    func stop() async {
        // SIGINT: PostgreSQL's fast shutdown.
        _ = try? await self.process.stop(signal: SIGINT)
        try? FileManager.default.removeItem(at: self.directory)
    }

    /// Adds a login role that must give `password` over TCP (scram-sha-256; the tests' own role stays trusted).
    func addRole(_ user: String, password: String) async throws {
        let hba = self.directory.appendingPathComponent("data/pg_hba.conf")
        let rules = try String(contentsOf: hba, encoding: .utf8)
        try ("host all \(user) 127.0.0.1/32 scram-sha-256\n" + rules).write(to: hba, atomically: false, encoding: .utf8)
        try await Self.run(
            "/usr/bin/psql",
            ["-h", "127.0.0.1", "-p", "\(self.port)", "-U", "pixeledge", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
             "-c", "CREATE ROLE \(user) LOGIN PASSWORD '\(password)'", "-c", "GRANT ALL ON SCHEMA public TO \(user)",
             "-c", "SELECT pg_reload_conf()"],
            asPostgres: false
        )
    }

    /// initdb once per test process: each server starts from a copy.
    private static let template = Task { try await PostgresServer.makeTemplate() }

    private static func makeTemplate() async throws -> (URL, URL) {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.compactMap(Int.init).max() else {
            throw PostgresUnavailable(message: "PostgreSQL is not installed (apt-get install postgresql, as Tests/run does): no /usr/lib/postgresql/*/bin")
        }
        let binaries = URL(fileURLWithPath: "/usr/lib/postgresql/\(version)/bin")
        // One per PostgreSQL version, kept for later runs: initdb is most of a server's start.
        let template = FileManager.default.temporaryDirectory.appendingPathComponent("pixeledge-postgres-template-\(version)")
        if FileManager.default.fileExists(atPath: template.appendingPathComponent("data/PG_VERSION").path) {
            return (binaries, template)
        }
        let building = template.appendingPathExtension("\(getpid())")
        try? FileManager.default.removeItem(at: building)
        try FileManager.default.createDirectory(at: building, withIntermediateDirectories: true)
        if getuid() == 0 { try await PostgresServer.run("/bin/chown", ["postgres", building.path], asPostgres: false) }
        try await PostgresServer.run(
            binaries.appendingPathComponent("initdb").path,
            ["-D", building.appendingPathComponent("data").path, "-U", "pixeledge", "-A", "trust", "--no-sync", "-E", "UTF8"]
        )
        // Renamed when complete, so that a run killed during initdb leaves no half template behind.
        try? FileManager.default.removeItem(at: template)
        try FileManager.default.moveItem(at: building, to: template)
        return (binaries, template)
    }

    /// PostgreSQL refuses to run as root: as root, it runs as the `postgres` user the package creates
    /// (setpriv changes the user and runs the command itself, with nothing in between).
    private static func command(_ command: [String], asPostgres: Bool = true) -> [String] {
        guard asPostgres, getuid() == 0 else { return command }
        return ["/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"] + command
    }

    /// Runs a command that ends (initdb, cp) and fails with its output when it does not succeed.
    private static func run(_ executable: String, _ arguments: [String], asPostgres: Bool = true) async throws {
        let result = try await Subprocess.run(
            Subprocess.Configuration(Self.command([executable] + arguments, asPostgres: asPostgres)),
            input: .none,
            output: .string(limit: 16 << 20),
            error: .combinedWithOutput
        )
        guard result.terminationStatus.isSuccess else {
            let text = result.standardOutput
            throw PostgresUnavailable(message: "\(executable) \(arguments.joined(separator: " ")) ended with \(result.terminationStatus): \(text)")
        }
    }

    private static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw PostgresUnavailable(message: "no free port for PostgreSQL") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

struct PostgresUnavailable: Error, CustomStringConvertible {
    let message: String
    var description: String { self.message }
}
