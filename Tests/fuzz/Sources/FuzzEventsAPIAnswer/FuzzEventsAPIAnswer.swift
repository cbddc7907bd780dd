import FuzzSupport
import PixelEdgeCore

/// Whatever answers at `--tiktok-api-base` or Meta's Graph API base (the platform, a proxy, a captive
/// gateway, an attacker), read by both tables (`EventsAPIAnswer`, `ConversionsAPIAnswer`): the input's
/// first two bytes are the HTTP status (100 to 599), the first line after them the `Retry-After` field (none
/// when empty), the rest the body. The answer must be read without a trap (a `Retry-After` of
/// 9223372036854775807 once killed the node on every start), and:
/// - a wait is between 0 and an hour;
/// - the label is one of a bounded set;
/// - no event is lost to an answer PixelEdge does not know: events are failed (refused, or partly accepted)
///   only for a 2xx-4xx answer whose `code` is one the table says refuses events.
@main
enum Main {
    static func main() { runFuzzer(fuzzEventsAPIAnswer) }
}

let fixedLabels: Set<String> = ["5xxxx", "unexpected", "http_429", "http_5xx", "http_1xx", "http_2xx", "http_3xx", "http_4xx", "http_other", "unparseable"]
let tableLabels = Set(TikTokAnswerCode.table.map { String($0.code) })
/// Meta's known codes and the permission range (200-299) label as themselves; 0 is success.
let metaLabels = Set(["0", "1", "2", "4", "10", "17", "32", "100", "190", "341", "613"] + (200...299).map(String.init))
let refusingCodes = Set(TikTokAnswerCode.table.filter { [.refuseEvents, .partiallyAccepted, .pauseIfPixelNamed].contains($0.action) }.map(\.code))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEventsAPIAnswer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size >= 2 else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let status = 100 + (Int(bytes[0]) << 8 | Int(bytes[1])) % 500
    let rest = bytes[2...]
    let newline = rest.firstIndex(of: UInt8(ascii: "\n")) ?? rest.endIndex
    let field = String(decoding: rest[..<newline], as: UTF8.self)
    let body = Array(rest[(newline == rest.endIndex ? newline : newline + 1)...])
    let answer = EventsAPIAnswer(status: status, retryAfter: field.isEmpty ? nil : field, body: body)
    precondition(fixedLabels.contains(answer.label) || tableLabels.contains(answer.label), "label \(answer.label)")
    switch answer.outcome {
    case .transient(_, _, _, _, let wait?):
        precondition(wait >= .zero && wait <= EventsAPIAnswer.maximumRetryAfter, "wait \(wait)")
    case .eventsRejected(let code, _, _), .partiallyAccepted(_, let code, _, _):
        precondition(status < 500 && status != 429 && refusingCodes.contains(code), "events failed on \(status) \(code)")
    case .transient, .accepted, .pixelRejected:
        break
    }
    // Meta's table: the same bounds; events fail only on code 100 (an invalid parameter), never on 5xx or 429.
    let meta = ConversionsAPIAnswer.classify(status: status, retryAfter: field.isEmpty ? nil : field, body: body)
    precondition(fixedLabels.contains(meta.label) || metaLabels.contains(meta.label), "Meta label \(meta.label)")
    switch meta.outcome {
    case .transient(_, _, _, _, let wait?):
        precondition(wait >= .zero && wait <= EventsAPIAnswer.maximumRetryAfter, "wait \(wait)")
    case .eventsRejected(let code, _, _), .partiallyAccepted(_, let code, _, _):
        precondition(code == 100, "Meta events failed on \(status) \(code)")
    case .transient, .accepted, .pixelRejected:
        break
    }
    if let field = field.isEmpty ? nil : field, let wait = EventsAPIAnswer.retryAfter(field) {
        precondition(wait >= .zero && wait <= EventsAPIAnswer.maximumRetryAfter)
    }
    return 0
}
