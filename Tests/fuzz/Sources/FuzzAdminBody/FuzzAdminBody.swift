import FuzzSupport
import PixelEdgeCore

/// The body of `PUT /admin/pixels/{id}` and of the console's `…/validate`: never a crash; what is accepted
/// is valid; what is refused is explained in a message of bounded size that never repeats a long pasted
/// value (a token, maybe); the check and the save agree.
@main
enum Main {
    static func main() { runFuzzer(fuzzAdminBody) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAdminBody(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    // The console's check of the same body says valid exactly when a save would accept it, in messages
    // that follow the same rules.
    let check = PixelCheck.checking(id: "shop", body: bytes)
    let accepted = (try? PixelPutRequest.edit(fromJSON: bytes)) != nil
    precondition(check.valid == accepted, "the check and the save disagree")
    let text = String(decoding: bytes, as: UTF8.self)
    for message in check.errors.map(\.message) + check.warnings.map(\.message) {
        precondition(message.utf8.count < 1024, "an unbounded message")
        if text.count >= 40, let window = longRuns(in: text).first(where: { message.contains($0) }) {
            preconditionFailure("the check repeats \(window)")
        }
    }
    do {
        let edit = try PixelPutRequest.edit(fromJSON: bytes)
        if case .set(let code) = edit.pixelCode {
            precondition(code.rawValue.utf8.count == TikTokPixelCode.length)
            precondition(code.rawValue.utf8.allSatisfy { (48...57).contains($0) || (65...90).contains($0) })
        }
        if case .set(let token) = edit.accessToken {
            precondition(!token.secret.isEmpty && token.secret.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F })
        }
    } catch {
        precondition(error.message.utf8.count < 1024, "an unbounded error message")
        // Nothing of 40 characters or more from the body comes back.
        if text.count >= 40, let window = longRuns(in: text).first(where: { error.message.contains($0) }) {
            preconditionFailure("the message repeats \(window)")
        }
    }
    return 0
}

/// Runs of 40 or more printable characters without quotes or separators: what a secret looks like.
func longRuns(in text: String) -> [Substring] {
    text.split { !($0.isASCII && ($0.isLetter || $0.isNumber)) }.filter { $0.count >= 40 }
}
