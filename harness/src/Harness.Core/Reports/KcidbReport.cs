// kcidb.json: the KernelCI common database's I/O format, schema v5.3 (kernelci/kcidb-io,
// kcidb_io/schema/v05_03.py). One checkout and one build per kernel (a run has one; a validation
// its without/with/control kernels), one test per cell and repeat. The schema rejects unknown
// keys and nulls, so optional fields are left out rather than null, and every figure the schema
// has no field for goes in `misc`. Ids are "origin:anything"; statuses are upper case; CRASH is a
// FAIL with the crash kind in misc (the schema has no crash status); repeats that never ran are MISS.
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Harness.Results;
using Harness.Verdicts;

namespace Harness.Reports;

public static partial class KcidbReport
{
    public const int Major = 5;
    public const int Minor = 3;

    /// <summary>Origins the schema accepts: "^[a-z0-9_]+$".</summary>
    [GeneratedRegex("^[a-z0-9_]+$")]
    public static partial Regex OriginPattern();

    /// <summary>Throws <see cref="Yaml.InputException"/> naming --origin when the schema would reject it.</summary>
    public static void CheckOrigin(string origin)
    {
        if (!OriginPattern().IsMatch(origin))
            throw new Yaml.InputException(new Yaml.InputProblem("--origin", 0, 0, "--origin",
                $"'{origin}' is not a KCIDB origin: use lower-case letters, digits and '_' only (e.g. my_lab)"));
    }

    public static string Render(ReportModel model, string origin)
    {
        CheckOrigin(origin);
        var run = Id(origin, model.RunId);
        var checkouts = new JsonArray();
        var builds = new JsonArray();
        var tests = new JsonArray();
        var kernels = Kernels(model);
        foreach (var k in kernels)
        {
            var checkout = new JsonObject
            {
                ["id"] = $"{run}:checkout:{k.Label}",
                ["origin"] = origin,
                ["comment"] = k.Comment,
                ["start_time"] = Time(model.Started),
                ["valid"] = true,
            };
            if (k.PatchsetHash is { } hash) checkout["patchset_hash"] = hash;
            checkout["misc"] = new JsonObject { ["harness_kernel"] = k.Name, ["release"] = k.Release, ["side"] = k.Label };
            checkouts.Add(checkout);
            builds.Add(new JsonObject
            {
                ["id"] = $"{run}:build:{k.Label}",
                ["checkout_id"] = $"{run}:checkout:{k.Label}",
                ["origin"] = origin,
                ["comment"] = k.Comment,
                ["start_time"] = Time(model.Started),
                ["architecture"] = "x86_64",
                // Every cell that booted it proves the build usable; the harness never records a kernel it could not build.
                ["status"] = "PASS",
                ["misc"] = new JsonObject { ["release"] = k.Release, ["origin_detail"] = k.Comment },
            });
        }
        foreach (var cell in model.Cells)
        {
            var label = cell.Side ?? "run";
            var planned = Math.Max(cell.Input.Repeats, cell.Iterations.Count);
            for (var repeat = 0; repeat < planned; repeat++)
            {
                var i = repeat < cell.Iterations.Count ? cell.Iterations[repeat] : null;
                var misc = new JsonObject
                {
                    ["cell"] = cell.Input.CellId,
                    ["repeat"] = repeat + 1,
                    ["case_sha256"] = cell.Input.CaseSha256,
                    ["seed"] = cell.Input.Seed.ToString(CultureInfo.InvariantCulture),
                    ["rerun"] = cell.RerunCommand,
                };
                var test = new JsonObject
                {
                    ["id"] = $"{run}:test:{cell.Input.CellId}:{repeat + 1}",
                    ["build_id"] = $"{run}:build:{label}",
                    ["origin"] = origin,
                    ["path"] = Path(cell),
                    ["start_time"] = Time(cell.Result?.Started ?? model.Started),
                };
                string status;
                if (i is null)
                {
                    var crashed = cell.Outcome == Outcome.Crash && cell.Result?.Failure is not null && repeat == cell.Iterations.Count;
                    status = crashed ? "FAIL" : cell.Outcome == Outcome.Error && repeat == cell.Iterations.Count && cell.Result?.Failure is not null ? "ERROR" : "MISS";
                    if (crashed) misc["crash_kind"] = cell.FailureKind ?? "crash";
                    test["comment"] = cell.Problem ?? "not run";
                    if (cell.Result?.Failure?.Excerpt is { } excerpt && status != "MISS") test["log_excerpt"] = Excerpt(excerpt);
                }
                else
                {
                    misc["iteration"] = i.Iteration;
                    status = i.Outcome switch
                    {
                        Outcome.Pass => "PASS",
                        Outcome.Fail or Outcome.Crash => "FAIL",
                        Outcome.Error => "ERROR",
                        _ => "SKIP",
                    };
                    if (i.Outcome == Outcome.Crash)
                    {
                        misc["crash_kind"] = cell.FailureKind ?? "crash";
                        if (cell.Result?.Failure?.Excerpt is { } excerpt) test["log_excerpt"] = Excerpt(excerpt);
                    }
                    test["comment"] = i.Error ?? $"{Outcomes.Word(i.Outcome)}: {i.Passes.Sum(p => p.FindingCount)} finding(s)";
                    test["duration"] = Math.Round(i.WorkloadSeconds, 6);
                    if (i.Iops > 0) test["number"] = new JsonObject { ["value"] = Math.Round(i.Iops, 1), ["unit"] = "IOPS" };
                    misc["io_count"] = i.IoCount;
                    misc["io_errors"] = i.IoErrors;
                    misc["sectors_checked"] = i.Passes.Sum(p => p.SectorsChecked);
                    var byClass = new JsonObject();
                    foreach (var (k, n) in i.Passes.SelectMany(p => p.FindingsByClass).GroupBy(kv => kv.Key).Select(g => (g.Key, g.Sum(kv => kv.Value))).OrderBy(x => x.Key, StringComparer.Ordinal))
                        byClass[k] = n;
                    misc["findings_by_class"] = byClass;
                    if (i.Passes.SelectMany(p => p.Findings).FirstOrDefault() is { } f)
                        misc["first_finding"] = f.ToString();
                }
                test["status"] = status;
                test["misc"] = misc;
                tests.Add(test);
            }
        }
        var root = new JsonObject
        {
            ["version"] = new JsonObject { ["major"] = Major, ["minor"] = Minor },
            ["checkouts"] = checkouts,
            ["builds"] = builds,
            ["tests"] = tests,
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    }

    private sealed record KernelEntry(string Label, string Name, string Release, string Comment, string? PatchsetHash);

    private static IReadOnlyList<KernelEntry> Kernels(ReportModel model)
    {
        if (model.Validation is not { } v)
            return [new KernelEntry("run", model.Cells.FirstOrDefault()?.Kernel ?? model.Machine.Kernel, model.Machine.Kernel, $"{model.Machine.Kind}: {model.Machine.Detail}", null)];
        return v.Kernels.Select(k => new KernelEntry(k.Label, k.Name, k.Release, k.Origin,
            // The schema's patchset hash: sha256 over each patch's newline-terminated sha256; only --patch is known as a file.
            k.Label == "with" && v.PatchSha256 is { } patch ? Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(patch + "\n"))) : null)).ToArray();
    }

    /// <summary>Dot-separated test path, harness.&lt;case&gt;.&lt;fs&gt;; each part kept to [A-Za-z0-9_-].</summary>
    private static string Path(ReportCell cell) => $"harness.{Segment(cell.Input.Case)}.{Segment(cell.Input.Filesystem)}";

    private static string Segment(string name)
    {
        var s = new string(name.Select(ch => char.IsAsciiLetterOrDigit(ch) || ch is '_' or '-' ? ch : '_').ToArray());
        return s.Length == 0 ? "_" : s;
    }

    private static string Id(string origin, string rest) => $"{origin}:{rest}";

    /// <summary>RFC 3339 with the offset: the schema's date-time needs a timezone.</summary>
    private static string Time(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'+00:00'", CultureInfo.InvariantCulture);

    /// <summary>log_excerpt is at most 16384 characters and holds no NUL.</summary>
    private static string Excerpt(string text)
    {
        var clean = text.Replace("\0", "", StringComparison.Ordinal);
        return clean.Length <= 16384 ? clean : clean[^16384..];
    }
}
