// The rules of the KCIDB I/O schema v5.3 (kernelci/kcidb-io, kcidb_io/schema/v05_03.py) for the
// parts the harness writes (version, checkouts, builds, tests), checked in code: allowed and
// required keys (additionalProperties false everywhere), no nulls, id and origin patterns, the
// status enum, dot-separated test paths, date-times with a timezone, number objects, misc objects,
// log excerpts at most 16384 characters. Plus links that must resolve within the document.
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Harness.Tests.Support;

public static partial class KcidbRules
{
    private static readonly string[] TopKeys = ["version", "checkouts", "builds", "tests", "issues", "incidents"];
    private static readonly string[] CheckoutKeys =
        ["_timestamp", "id", "origin", "tree_name", "git_repository_url", "git_commit_hash", "git_commit_name", "git_commit_tags", "git_commit_message",
         "git_repository_branch", "git_repository_branch_tip", "patchset_files", "patchset_hash", "message_id", "comment", "start_time",
         "origin_builds_finish_time", "origin_tests_finish_time", "log_url", "log_excerpt", "valid", "misc"];
    private static readonly string[] BuildKeys =
        ["_timestamp", "checkout_id", "id", "origin", "comment", "start_time", "duration", "architecture", "command", "compiler", "input_files",
         "output_files", "config_name", "config_url", "log_url", "log_excerpt", "status", "misc"];
    private static readonly string[] TestKeys =
        ["_timestamp", "build_id", "id", "origin", "environment", "path", "comment", "log_url", "log_excerpt", "status", "number", "start_time",
         "duration", "input_files", "output_files", "misc"];
    private static readonly string[] Statuses = ["FAIL", "ERROR", "MISS", "PASS", "DONE", "SKIP"];
    private static readonly string[] Times = ["_timestamp", "start_time", "origin_builds_finish_time", "origin_tests_finish_time"];

    [GeneratedRegex("^[a-z0-9_]+$")] private static partial Regex Origin();
    [GeneratedRegex("^[a-z0-9_]+:.*$")] private static partial Regex OriginId();
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")] private static partial Regex DateTime();
    // Dot-separated, no empty part (the empty string alone is the root).
    [GeneratedRegex(@"^$|^[^.\0]+(\.[^.\0]+)*$")] private static partial Regex TestPath();
    [GeneratedRegex("^[a-z0-9_]*$")] private static partial Regex Architecture();
    [GeneratedRegex("^$|^[0-9a-f]{64}$")] private static partial Regex Sha256();

    public static IReadOnlyList<string> Check(string json)
    {
        var problems = new List<string>();
        JsonNode? root;
        try { root = JsonNode.Parse(json); }
        catch (System.Text.Json.JsonException e) { return [$"not JSON: {e.Message}"]; }
        if (root is not JsonObject top) return ["the document is not an object"];
        Nulls(top, "$", problems);
        Keys(top, "$", TopKeys, ["version"], problems);
        if (top["version"] is JsonObject v)
        {
            Keys(v, "version", ["major", "minor"], ["major"], problems);
            if (v["major"]?.GetValueKind() != System.Text.Json.JsonValueKind.Number || (int)v["major"]! != 5) problems.Add("version.major must be 5");
            if (v["minor"] is { } minor && (minor.GetValueKind() != System.Text.Json.JsonValueKind.Number || (int)minor < 0 || (int)minor > 3)) problems.Add("version.minor must be 0..3");
        }
        else problems.Add("version must be an object");

        var checkoutIds = Objects(top, "checkouts", CheckoutKeys, ["id", "origin"], problems, (o, at) =>
        {
            if (o["valid"] is { } valid && valid.GetValueKind() is not (System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False)) problems.Add($"{at}.valid must be a boolean");
            if (o["patchset_hash"] is { } h && !Sha256().IsMatch(h.ToString())) problems.Add($"{at}.patchset_hash is not a sha256");
        });
        var buildIds = Objects(top, "builds", BuildKeys, ["checkout_id", "id", "origin"], problems, (o, at) =>
        {
            Status(o, at, problems);
            if (o["valid"] is not null) problems.Add($"{at}: builds carry status, not valid");
            if (o["architecture"] is { } arch && !Architecture().IsMatch(arch.ToString())) problems.Add($"{at}.architecture '{arch}' does not match ^[a-z0-9_]*$");
            if (o["checkout_id"] is { } c && !OriginId().IsMatch(c.ToString())) problems.Add($"{at}.checkout_id is not origin:...");
        });
        Objects(top, "tests", TestKeys, ["build_id", "id", "origin"], problems, (o, at) =>
        {
            Status(o, at, problems);
            if (o["path"] is { } path && !TestPath().IsMatch(path.ToString())) problems.Add($"{at}.path '{path}' is not dot-separated");
            if (o["build_id"] is { } b && !OriginId().IsMatch(b.ToString())) problems.Add($"{at}.build_id is not origin:...");
            if (o["number"] is JsonObject n)
            {
                Keys(n, $"{at}.number", ["value", "unit", "prefix"], ["value"], problems);
                if (n["prefix"] is { } prefix && prefix.ToString() is not ("metric" or "binary")) problems.Add($"{at}.number.prefix must be metric or binary");
            }
            else if (o["number"] is not null) problems.Add($"{at}.number must be an object");
            if (o["environment"] is JsonObject env) Keys(env, $"{at}.environment", ["compatible", "comment", "misc"], [], problems);
        });
        // Links the harness itself promises: every test names a build, every build a checkout, of this document.
        if (top["builds"] is JsonArray builds)
            foreach (var b in builds.OfType<JsonObject>().Where(b => b["checkout_id"] is { } c && !checkoutIds.Contains(c.ToString())))
                problems.Add($"build {b["id"]}: checkout {b["checkout_id"]} is not in the document");
        if (top["tests"] is JsonArray tests)
            foreach (var t in tests.OfType<JsonObject>().Where(t => t["build_id"] is { } b && !buildIds.Contains(b.ToString())))
                problems.Add($"test {t["id"]}: build {t["build_id"]} is not in the document");
        return problems;
    }

    private static HashSet<string> Objects(JsonObject top, string key, string[] allowed, string[] required, List<string> problems, Action<JsonObject, string> more)
    {
        var ids = new HashSet<string>();
        if (top[key] is null) return ids;
        if (top[key] is not JsonArray list) { problems.Add($"{key} must be an array"); return ids; }
        for (var i = 0; i < list.Count; i++)
        {
            var at = $"{key}[{i}]";
            if (list[i] is not JsonObject o) { problems.Add($"{at} must be an object"); continue; }
            Keys(o, at, allowed, required, problems);
            if (o["id"] is { } id)
            {
                if (!OriginId().IsMatch(id.ToString())) problems.Add($"{at}.id '{id}' is not origin:...");
                if (!ids.Add(id.ToString())) problems.Add($"{at}.id '{id}' is not unique");
            }
            if (o["origin"] is { } origin && !Origin().IsMatch(origin.ToString())) problems.Add($"{at}.origin '{origin}' does not match ^[a-z0-9_]+$");
            foreach (var t in Times.Where(t => o[t] is not null && !DateTime().IsMatch(o[t]!.ToString()))) problems.Add($"{at}.{t} '{o[t]}' is not a date-time with a timezone");
            if (o["misc"] is { } misc && misc is not JsonObject) problems.Add($"{at}.misc must be an object");
            if (o["log_excerpt"] is { } log && (log.ToString().Length > 16384 || log.ToString().Contains('\0'))) problems.Add($"{at}.log_excerpt longer than 16384 or holds NUL");
            if (o["duration"] is { } d && d.GetValueKind() != System.Text.Json.JsonValueKind.Number) problems.Add($"{at}.duration must be a number");
            foreach (var s in new[] { "comment", "tree_name", "path", "command", "compiler", "config_name" }.Where(s => o[s] is { } v && v.GetValueKind() != System.Text.Json.JsonValueKind.String))
                problems.Add($"{at}.{s} must be a string");
            more(o, at);
        }
        return ids;
    }

    private static void Status(JsonObject o, string at, List<string> problems)
    {
        if (o["status"] is { } s && !Statuses.Contains(s.ToString())) problems.Add($"{at}.status '{s}' is not one of {string.Join(", ", Statuses)}");
    }

    private static void Keys(JsonObject o, string at, string[] allowed, string[] required, List<string> problems)
    {
        foreach (var k in o.Select(kv => kv.Key).Where(k => !allowed.Contains(k))) problems.Add($"{at}: unknown key '{k}'");
        foreach (var r in required.Where(r => !o.ContainsKey(r))) problems.Add($"{at}: missing required key '{r}'");
    }

    private static void Nulls(JsonNode? node, string at, List<string> problems)
    {
        switch (node)
        {
            case null: problems.Add($"{at} is null"); break;
            case JsonObject o: foreach (var (k, v) in o) Nulls(v, $"{at}.{k}", problems); break;
            case JsonArray a: for (var i = 0; i < a.Count; i++) Nulls(a[i], $"{at}[{i}]", problems); break;
        }
    }
}
