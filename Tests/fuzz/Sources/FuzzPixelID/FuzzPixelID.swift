import FuzzSupport
import PixelEdgeCore

/// Pixel ids: the byte-level check the request path uses and the validating initialiser the CLI and the
/// admin API use agree on every input, and the validating one always explains a refusal.
@main
enum Main {
    static func main() { runFuzzer(fuzzPixelID) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPixelID(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let fast = PixelID(text)
    do {
        let validated = try PixelID(validating: text)
        precondition(fast == validated, "the request path refused \(text.debugDescription), which validation accepts")
    } catch {
        precondition(fast == nil, "the request path accepted \(text.debugDescription), which validation refuses")
        precondition(!error.message.isEmpty && error.field == "id")
    }
    // The other pasted values: no trap on any text, and a refusal always names its field.
    do { _ = try TikTokPixelCode.parse(text) } catch { precondition(error.field == "tiktok.pixelCode") }
    do { _ = try TikTokAccessToken.parse(text) } catch { precondition(error.field == "tiktok.accessToken") }
    do { _ = try TestEventCode.parse(text) } catch { precondition(error.field == "tiktok.testEventCode") }
    return 0
}
