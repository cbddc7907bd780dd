import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL server of the tests' own: a copy of a data directory made once per test process with
/// `initdb`, started with `pg_ctl` on a free port in a temporary directory, stopped and removed after the
/// test. Never a system service. Without PostgreSQL installed (Debian's `postgresql`, which `Tests/run`
/// installs) the test fails, saying so; it is never skipped.
final class PostgresServer: Sendable {
    let port: Int
    let url: String
    private let directory: URL
    private let binaries: URL

    /// Runs `body` against a fresh server, stopped afterwards whatever happens.
    static func with<T: Sendable>(_ body: @Sendable (PostgresServer) async throws -> T) async throws -> T {
        let server = try PostgresServer()
        do {
            let result = try await body(server)
            server.stop()
            return result
        } catch {
            server.stop()
            throw error
        }
    }

    /// The server process itself (`postgres`, not `pg_ctl`, whose daemon Foundation's Process cannot see end).
    private let process: Process

    private init() throws {
        let (binaries, template) = try Self.template.get()
        self.binaries = binaries
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("pixeledge-postgres-\(UUID().uuidString)")
        try Self.run("/bin/cp", ["-a", template.path, self.directory.path], asPostgres: false)
        self.port = try Self.freePort()
        let process = Process()
        let arguments = [
            binaries.appendingPathComponent("postgres").path, "-D", self.directory.appendingPathComponent("data").path, "-p", "\(self.port)",
            "-c", "listen_addresses=127.0.0.1", "-k", self.directory.path, "-c", "fsync=off", "-c", "max_connections=200",
        ]
        Self.prepare(process, arguments)
        let log = try FileHandle(forWritingTo: Self.emptyFile(self.directory.appendingPathComponent("log")))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        self.url = "postgres://pixeledge@127.0.0.1:\(self.port)/postgres"
        try self.waitUntilAccepting()
    }

    func stop() {
        // SIGINT: PostgreSQL's fast shutdown.
        self.process.interrupt()
        self.process.waitUntilExit()
        try? FileManager.default.removeItem(at: self.directory)
    }

    /// Adds a login role that must give `password` over TCP (scram-sha-256; the tests' own role stays trusted).
    func addRole(_ user: String, password: String) throws {
        let hba = self.directory.appendingPathComponent("data/pg_hba.conf")
        let rules = try String(contentsOf: hba, encoding: .utf8)
        try ("host all \(user) 127.0.0.1/32 scram-sha-256\n" + rules).write(to: hba, atomically: false, encoding: .utf8)
        try Self.run(
            "/usr/bin/psql",
            ["-h", "127.0.0.1", "-p", "\(self.port)", "-U", "pixeledge", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
             "-c", "CREATE ROLE \(user) LOGIN PASSWORD '\(password)'", "-c", "GRANT ALL ON SCHEMA public TO \(user)",
             "-c", "SELECT pg_reload_conf()"],
            asPostgres: false
        )
    }

    /// Until the server takes connections (it starts in well under a second), at most 30 s.
    private func waitUntilAccepting() throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, self.process.isRunning {
            let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(self.port).bigEndian
            let connected = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            close(socket)
            if connected { return }
            usleep(20_000)
        }
        let log = (try? String(contentsOf: self.directory.appendingPathComponent("log"), encoding: .utf8)) ?? ""
        throw PostgresUnavailable(message: "PostgreSQL did not start on port \(self.port): \(log.suffix(2000))")
    }

    private static func emptyFile(_ url: URL) -> URL {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        return url
    }

    /// initdb once per test process: each server starts from a copy.
    private static let template: Result<(URL, URL), any Error> = Result { try PostgresServer.makeTemplate() }

    private static func makeTemplate() throws -> (URL, URL) {
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
        if getuid() == 0 { try PostgresServer.run("/bin/chown", ["postgres", building.path], asPostgres: false) }
        try PostgresServer.run(
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
    private static func prepare(_ process: Process, _ command: [String], asPostgres: Bool = true) {
        if asPostgres, getuid() == 0 {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=postgres", "--regid=postgres", "--init-groups", "--"] + command
        } else {
            process.executableURL = URL(fileURLWithPath: command[0])
            process.arguments = Array(command.dropFirst())
        }
    }

    /// Runs a command that ends (initdb, cp) and fails with its output when it does not succeed.
    private static func run(_ executable: String, _ arguments: [String], asPostgres: Bool = true) throws {
        let process = Process()
        Self.prepare(process, [executable] + arguments, asPostgres: asPostgres)
        let log = Self.emptyFile(FileManager.default.temporaryDirectory.appendingPathComponent("pixeledge-postgres-command-\(UUID().uuidString).log"))
        defer { try? FileManager.default.removeItem(at: log) }
        let output = try FileHandle(forWritingTo: log)
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try? output.close()
        guard process.terminationStatus == 0 else {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            throw PostgresUnavailable(message: "\(executable) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus): \(text)")
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
