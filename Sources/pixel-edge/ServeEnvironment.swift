import ArgumentParser
import Configuration
import Foundation

/// `serve`'s options from the environment, as a supervisor (systemd, Kubernetes, Nomad) gives them: every
/// option `--some-option` can also be `PIXELEDGE_SOME_OPTION`, read with swift-configuration's
/// `EnvironmentVariablesProvider`, and a secret can come from a file named by `PIXELEDGE_SOME_OPTION_FILE`
/// (as container secrets are mounted). A flag on the command line wins over the variable. The values go to
/// the same parsing and validation as the flags (they become arguments), and a refusal names the variable.
struct ServeEnvironment {
    /// How an option takes its value.
    enum Kind: Equatable {
        /// `--name VALUE`.
        case value
        /// `--name VALUE`, repeatable: several values in one variable, separated by `separator`.
        case repeated(separator: Character)
        /// A flag: the variable is `true` or `false` (or 1/0, yes/no).
        case flag
    }

    struct Option: Equatable {
        let name: String
        let kind: Kind
        /// Masked by `--print-config`.
        var isSecret = false

        var variable: String { ServeEnvironment.prefix + self.name.uppercased().replacingOccurrences(of: "-", with: "_") }
    }

    static let prefix = "PIXELEDGE_"

    /// Every option of `serve` (a test checks the list against `serve --help`).
    static let options: [Option] = [
        .init(name: "host", kind: .value), .init(name: "port", kind: .value), .init(name: "database", kind: .value, isSecret: true),
        .init(name: "templates", kind: .value), .init(name: "public", kind: .value), .init(name: "events-js-url", kind: .value),
        .init(name: "fbevents-js-url", kind: .value), .init(name: "collect-url", kind: .value), .init(name: "public-url", kind: .value),
        .init(name: "no-collect", kind: .flag), .init(name: "tiktok-api-base", kind: .value), .init(name: "meta-api-base", kind: .value),
        .init(name: "meta-api-version", kind: .value), .init(name: "trusted-proxy", kind: .repeated(separator: ",")),
        .init(name: "outbox-limit", kind: .value), .init(name: "allow-custom-events", kind: .flag), .init(name: "forward-window-ms", kind: .value),
        .init(name: "forward-concurrency", kind: .value), .init(name: "max-event-age", kind: .value), .init(name: "claim-lease", kind: .value),
        .init(name: "node-name", kind: .value), .init(name: "demo", kind: .flag), .init(name: "bundle-cache-size", kind: .value),
        .init(name: "max-age", kind: .value), .init(name: "s-maxage", kind: .value), .init(name: "stale-while-revalidate", kind: .value),
        .init(name: "stale-if-error", kind: .value), .init(name: "reload-interval-ms", kind: .value), .init(name: "purge-url", kind: .value),
        .init(name: "purge-method", kind: .value),
        // A header value may hold commas: one header per line.
        .init(name: "purge-header", kind: .repeated(separator: "\n"), isSecret: true),
        .init(name: "threads", kind: .value), .init(name: "idle-timeout", kind: .value), .init(name: "head-timeout", kind: .value),
        .init(name: "body-timeout", kind: .value), .init(name: "send-timeout", kind: .value), .init(name: "max-connections", kind: .value),
        .init(name: "drain-timeout", kind: .value), .init(name: "log-level", kind: .value), .init(name: "log-format", kind: .value),
        .init(name: "log-requests", kind: .value),
    ]

    /// Where an option's value came from, for `--print-config` and for messages.
    enum Source: String {
        case flag, environment, file, `default`
    }

    let environment: [String: String]

    init(_ environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// The command line's options given by name (`--name`, `--name=value`).
    static func named(in arguments: [String]) -> Set<String> {
        Set(arguments.compactMap { argument in
            guard argument.hasPrefix("--") else { return nil }
            return String(argument.dropFirst(2).prefix { $0 != "=" })
        })
    }

    /// `arguments` (a `serve` command line, without the subcommand) with the options the environment gives
    /// and the command line does not, and each option's source.
    func arguments(adding arguments: [String]) throws -> (arguments: [String], sources: [String: Source]) {
        let given = Self.named(in: arguments)
        let reader = ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: self.environment, secretsSpecifier: .all))
        var added: [String] = []
        var sources: [String: Source] = [:]
        for option in Self.options {
            if given.contains(option.name) {
                sources[option.name] = .flag
                continue
            }
            guard let (text, source) = try self.value(of: option, reader: reader) else {
                sources[option.name] = .default
                continue
            }
            sources[option.name] = source
            switch option.kind {
            // `--name=value`: a value that starts with a dash (`-5`) stays a value.
            case .value:
                added.append("--\(option.name)=\(text)")
            case .repeated(let separator):
                for item in text.split(separator: separator).map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
                    added.append("--\(option.name)=\(item)")
                }
            case .flag:
                switch text.lowercased() {
                case "true", "1", "yes": added.append("--\(option.name)")
                case "false", "0", "no", "": break
                default:
                    throw ValidationError("\(option.variable) must be true or false, not \(text.prefix(40))")
                }
            }
        }
        return (arguments + added, sources)
    }

    /// The variable's value, or the content of the file `<variable>_FILE` names (its final newline dropped).
    private func value(of option: Option, reader: ConfigReader) throws -> (String, Source)? {
        let key = ConfigKey(["pixeledge"] + option.name.split(separator: "-").map(String.init))
        let direct = reader.string(forKey: key, isSecret: true)
        let fileVariable = option.variable + "_FILE"
        guard let path = self.environment[fileVariable], !path.isEmpty else { return direct.map { ($0, .environment) } }
        guard direct == nil else {
            throw ValidationError("\(option.variable) and \(fileVariable) are both set: set one of them")
        }
        return (try Self.read(path, variable: fileVariable), .file)
    }

    /// A secret's file: its content, without the final newline editors and `echo` add.
    static func read(_ path: String, variable: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ValidationError("\(variable) names \(path), which cannot be read")
        }
        return text.hasSuffix("\r\n") ? String(text.dropLast(2)) : text.hasSuffix("\n") ? String(text.dropLast()) : text
    }

    /// The admin token: `PIXELEDGE_ADMIN_TOKEN`, or the file `PIXELEDGE_ADMIN_TOKEN_FILE` names.
    func adminToken() throws -> String? {
        let variable = "PIXELEDGE_ADMIN_TOKEN"
        if let path = self.environment[variable + "_FILE"], !path.isEmpty {
            guard self.environment[variable]?.isEmpty ?? true else {
                throw ValidationError("\(variable) and \(variable)_FILE are both set: set one of them")
            }
            return try Self.read(path, variable: variable + "_FILE")
        }
        return self.environment[variable].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A message about options, naming the variables of those the environment gave (`--max-age must …`
    /// becomes `PIXELEDGE_MAX_AGE must …`).
    static func naming(_ message: String, sources: [String: Source]) -> String {
        var message = message
        // Longest names first: --max-age is a prefix of --max-age-…, never the reverse.
        for option in Self.options.sorted(by: { $0.name.count > $1.name.count }) {
            guard let source = sources[option.name], source == .environment || source == .file else { continue }
            let name = source == .file ? option.variable + "_FILE" : option.variable
            message = message.replacingOccurrences(of: "--\(option.name) ", with: "\(name) ")
                .replacingOccurrences(of: "--\(option.name)=", with: "\(name)=")
                .replacingOccurrences(of: "'--\(option.name)'", with: "\(name)")
                .replacingOccurrences(of: "'--\(option.name) <", with: "'\(name) <")
        }
        return message
    }
}
