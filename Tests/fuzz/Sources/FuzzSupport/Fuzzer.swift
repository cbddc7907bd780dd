import FuzzerDriver

#if canImport(Glibc)
import Glibc
#endif

/// Hands the process to libFuzzer with `test` as the target: SwiftPM gives every executable a `main` of
/// its own, so libFuzzer's `main` cannot be used, but its driver can.
public func runFuzzer(_ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, test))
}
