import Foundation
import FuzzSupport
import PixelEdgeCore

/// A `/collect` body: never a crash or a trap, whatever the bytes; and what is accepted holds no raw
/// personal data, keeps its limits, and survives the trip to the outbox's JSON and back.
@main
enum Main {
    static func main() { runFuzzer(fuzzCollectBody) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCollectBody(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    checkParserAgainstFoundation(bytes)
    guard let parsed = try? CollectRequestParser().parse(bytes) else { return 0 }
    let event = parsed.event
    precondition(event.eventID.utf8.count <= CollectRequestParser.maximumEventIDLength)
    for identifier in [event.eventID, event.ttclid, event.ttp].compactMap({ $0 }) {
        precondition(PersonalData.firstMatch(in: identifier) == nil, "personal data kept in an id")
    }
    // Identity reaches the store only as SHA-256 hashes, and the locale only as a language tag.
    for hash in [event.emailHash, event.phoneHash, event.externalIDHash].compactMap({ $0 }) {
        precondition(hash.utf8.count == 64 && hash.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }, "not a hash: \(hash)")
    }
    if let locale = event.locale {
        precondition(locale.utf8.count <= 35 && PersonalData.firstMatch(in: locale) == nil, "a locale that is not a language tag: \(locale)")
    }
    for url in [event.url, event.referrer].compactMap({ $0 }) {
        precondition(!url.contains("?") && !url.contains("#"), "a query or fragment kept in \(url)")
    }
    if let properties = event.properties {
        assertNoPersonalData(in: .object(properties))
    }
    // The outbox stores the Events API element as JSON: it must read back as it was written.
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    guard let stored = try? encoder.encode(event.eventsAPIData) else { preconditionFailure("an accepted event does not encode") }
    let unlimited = JSONLimits(maximumDepth: 64, maximumKeysPerObject: 1 << 20, maximumValues: 1 << 24, maximumStringBytes: 1 << 24, maximumNumberLength: 400)
    guard let reread = try? JSONParser.parse(stored, limits: unlimited) else { preconditionFailure("the stored JSON does not parse") }
    precondition(reread == event.eventsAPIData, "the stored JSON reads back differently")
    return 0
}

func assertNoPersonalData(in value: JSONValue) {
    switch value {
    case .string(let text): precondition(PersonalData.firstMatch(in: text) == nil, "personal data kept in a property")
    case .array(let items): items.forEach(assertNoPersonalData)
    case .object(let members):
        for (key, member) in members {
            precondition(PersonalData.firstMatch(in: key) == nil)
            assertNoPersonalData(in: member)
        }
    case .null, .bool, .number: break
    }
}

/// What the bounded parser accepts, Foundation's parser accepts too and reads alike. (Only then is
/// Foundation asked: its own parser traps on deep input, which is the reason for ours.)
func checkParserAgainstFoundation(_ bytes: UnsafeBufferPointer<UInt8>) {
    guard let ours = try? JSONParser.parse(bytes) else { return }
    guard let reference = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) else {
        preconditionFailure("JSONParser accepted what Foundation refuses: \(String(decoding: bytes, as: UTF8.self))")
    }
    precondition(same(ours, reference), "JSONParser and Foundation read \(String(decoding: bytes, as: UTF8.self)) differently")
}

func same(_ value: JSONValue, _ reference: Any) -> Bool {
    switch value {
    case .null: return reference is NSNull
    case .bool(let bool): return (reference as? NSNumber)?.boolValue == bool || (reference as? Bool) == bool
    case .number(let number):
        guard let other = (reference as? NSNumber)?.doubleValue else { return false }
        // Foundation may read a long integer exactly where a Double rounds it.
        return other == number || abs(other - number) <= abs(number) * 1e-15
    case .string(let string): return (reference as? String) == string
    case .array(let items):
        guard let others = reference as? [Any], others.count == items.count else { return false }
        return zip(items, others).allSatisfy { same($0, $1) }
    case .object(let members):
        guard let others = reference as? [String: Any], others.count == members.count else { return false }
        return members.allSatisfy { key, member in others[key].map { same(member, $0) } ?? false }
    }
}
