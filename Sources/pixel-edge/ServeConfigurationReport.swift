import ArgumentParser
import Foundation
import PixelEdgeApp

/// `serve --print-config`: each option's effective value and where it came from (a flag, the environment,
/// a file, the default), secrets masked (a database URL's password, purge headers' values, the admin
/// token). The defaults are ArgumentParser's, read from `serve`'s own definition (its help's structured
/// dump), so they are never written twice.
enum ServeConfigurationReport {
    static func text(arguments: [String], environment: ServeEnvironment) throws -> String {
        let (effective, sources) = try environment.arguments(adding: arguments)
        let defaults = Self.defaults()
        var rows: [(String, String, String)] = []
        for option in ServeEnvironment.options {
            let source = sources[option.name] ?? .default
            var values = Self.values(of: option, in: effective)
            if source == .default { values = defaults[option.name].map { [$0] } ?? [] }
            let shown = values.isEmpty ? "-" : values.map { Self.masked($0, option: option) }.joined(separator: ", ")
            let origin: String
            switch source {
            case .flag: origin = "flag --\(option.name)"
            case .environment: origin = "environment \(option.variable)"
            case .file: origin = "file \(option.variable)_FILE"
            case .default: origin = "default"
            }
            rows.append((option.name, shown, origin))
        }
        let token = try environment.adminToken()
        let tokenOrigin = environment.environment["PIXELEDGE_ADMIN_TOKEN_FILE"].map { _ in "file PIXELEDGE_ADMIN_TOKEN_FILE" }
            ?? (token == nil ? "default" : "environment PIXELEDGE_ADMIN_TOKEN")
        rows.append(("admin-token", token == nil ? "- (admin API off)" : "****", tokenOrigin))
        let width = rows.map(\.0.count).max() ?? 0
        let valueWidth = min(60, rows.map(\.1.count).max() ?? 0)
        return rows.map { name, value, origin in
            name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value.padding(toLength: max(valueWidth, value.count), withPad: " ", startingAt: 0)
                + "  " + origin
        }.joined(separator: "\n")
    }

    /// The values `--name` has in `arguments` (`--name value` or `--name=value`); a flag given is `true`.
    static func values(of option: ServeEnvironment.Option, in arguments: [String]) -> [String] {
        var values: [String] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            if argument == "--\(option.name)" {
                if option.kind == .flag {
                    values = ["true"]
                } else if index + 1 < arguments.endIndex {
                    values.append(arguments[index + 1])
                    index += 1
                }
            } else if argument.hasPrefix("--\(option.name)=") {
                values.append(String(argument.dropFirst(option.name.count + 3)))
            }
            index += 1
        }
        // A single-valued option given twice takes its last value, as ArgumentParser does.
        if case .value = option.kind, let last = values.last { return [last] }
        return values
    }

    static func masked(_ value: String, option: ServeEnvironment.Option) -> String {
        switch option.name {
        case "database": return DatabaseLocation(value).description
        case "purge-header": return value.split(separator: ":", maxSplits: 1).first.map { "\($0): ****" } ?? "****"
        default: return option.isSecret ? "****" : value
        }
    }

    /// Each option's default as `serve` declares it (ArgumentParser's structured help); flags are false.
    static func defaults() -> [String: String] {
        guard let data = ServeCommand._dumpHelp().data(using: .utf8),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let command = root["command"] as? [String: Any], let arguments = command["arguments"] as? [[String: Any]]
        else { return [:] }
        var defaults: [String: String] = [:]
        for argument in arguments {
            guard let name = (argument["preferredName"] as? [String: Any])?["name"] as? String else { continue }
            if let value = argument["defaultValue"] as? String {
                defaults[name] = value
            } else if argument["kind"] as? String == "flag" {
                defaults[name] = "false"
            }
        }
        return defaults
    }
}
