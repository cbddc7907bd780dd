import Subprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import PixelEdgeTestSupport

/// The tests' own way of running processes: what the CLI and server tests rest on.
@Suite struct ChildProcessTests {
    /// The child gets this process's environment with the test's values over it, byte for byte (a value with
    /// bytes after it once made a server refuse the admin token it was given).
    @Test func theEnvironmentReachesTheChildExactly() async throws {
        let child = try await ChildProcess.start(["/usr/bin/env"], environment: ["PIXELEDGE_CHILD_TEST": "value-0123456789", "HOME": "/nowhere"])
        #expect(try await child.exit() == .exited(0))
        let lines = child.output.text.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("PIXELEDGE_CHILD_TEST=") } == ["PIXELEDGE_CHILD_TEST=value-0123456789"])
        #expect(lines.filter { $0.hasPrefix("HOME=") } == ["HOME=/nowhere"])
        #expect(lines.contains { $0.hasPrefix("PATH=") }, "the rest is inherited")
    }

    /// A server that dies before saying it is ready fails the wait at once, with what it printed.
    @Test func aChildThatEndsBeforeTheLineFailsTheWaitAtOnce() async throws {
        let child = try await ChildProcess.start(["/bin/sh", "-c", "echo starting; echo 'no database' >&2; exit 3"])
        let error = await #expect(throws: ProcessEndedFirst.self) {
            try await withDeadline(.seconds(30), "the wait to fail") { try await child.output.line(containing: "listening") }
        }
        #expect(error?.status == .exited(3))
        #expect(error?.output == "starting\nno database\n")
    }

    @Test func stopSendsTheSignalAndReportsHowTheChildEnded() async throws {
        let child = try await ChildProcess.start(["/bin/sleep", "600"])
        #expect(try await child.stop(signal: SIGTERM) == .signaled(SIGTERM))
    }
}
