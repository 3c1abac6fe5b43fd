// A thin reader over YamlDotNet's node tree that keeps each value's line and column, so a
// validation error can point at the exact field. Used by every YAML input (cases, kernels).
using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Harness.Yaml;

/// <summary>Reads fields of one YAML mapping, collecting problems instead of throwing on the first.</summary>
public sealed class YamlFields
{
    private readonly YamlMappingNode _node;
    private readonly string _path;
    private readonly HashSet<string> _read = [];
    private readonly List<InputProblem> _problems;

    private YamlFields(string file, string path, YamlMappingNode node, List<InputProblem> problems)
    {
        File = file;
        _path = path;
        _node = node;
        _problems = problems;
    }

    public string File { get; }

    public IReadOnlyList<InputProblem> Problems => _problems;

    /// <summary>Parses YAML text whose top level must be a mapping.</summary>
    public static YamlFields Parse(string file, string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new InputException(new InputProblem(file, (int)e.Start.Line, (int)e.Start.Column, "(syntax)", e.InnerException?.Message ?? e.Message));
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new InputException(new InputProblem(file, 1, 1, "(document)", "expected a mapping of fields at the top level"));
        return new YamlFields(file, "", root, []);
    }

    public void Problem(string key, string message) => _problems.Add(At(key, message));

    public string? String(string key, bool required = false)
    {
        var node = Scalar(key, required);
        return node?.Value;
    }

    public int? Int(string key, int min, int max, bool required = false)
    {
        var node = Scalar(key, required);
        if (node is null) return null;
        if (!int.TryParse(node.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            return Bad<int?>(node, key, $"'{node.Value}' is not a whole number");
        if (value < min || value > max)
            return Bad<int?>(node, key, $"{value} is out of range [{min}, {max}]");
        return value;
    }

    public ulong? UInt64(string key, bool required = false)
    {
        var node = Scalar(key, required);
        if (node is null) return null;
        return ulong.TryParse(node.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : Bad<ulong?>(node, key, $"'{node.Value}' is not a non-negative whole number");
    }

    public bool? Bool(string key, bool required = false)
    {
        var node = Scalar(key, required);
        if (node is null) return null;
        return node.Value switch
        {
            "true" or "yes" => true,
            "false" or "no" => false,
            _ => Bad<bool?>(node, key, $"'{node.Value}' is not true or false"),
        };
    }

    /// <summary>A byte size: a number with an optional K/KiB/M/MiB/G/GiB suffix (powers of 1024).</summary>
    public long? Size(string key, bool required = false)
    {
        var node = Scalar(key, required);
        if (node is null) return null;
        if (ByteSize.TryParse(node.Value, out var value)) return value;
        return Bad<long?>(node, key, $"'{node.Value}' is not a size (examples: 4096, 512KiB, 64MiB, 1GiB)");
    }

    /// <summary>One of a fixed set of words; the error lists them.</summary>
    public string? OneOf(string key, IReadOnlyList<string> allowed, bool required = false)
    {
        var node = Scalar(key, required);
        if (node is null) return null;
        if (allowed.Contains(node.Value ?? "")) return node.Value;
        return Bad<string?>(node, key, $"'{node.Value}' is not one of: {string.Join(", ", allowed)}");
    }

    public IReadOnlyList<string>? StringList(string key, bool required = false)
    {
        if (!TryGet(key, required, out var node)) return null;
        if (node is YamlScalarNode scalar) return [scalar.Value ?? ""];
        if (node is not YamlSequenceNode seq)
            return Bad<IReadOnlyList<string>?>(node, key, "expected a list");
        var items = new List<string>();
        foreach (var item in seq)
        {
            if (item is YamlScalarNode s) items.Add(s.Value ?? "");
            else _problems.Add(Located(item, key, "expected a plain value in the list"));
        }
        return items;
    }

    /// <summary>Position of a field, for errors raised while validating across fields.</summary>
    public (int Line, int Column) PositionOf(string key) =>
        _node.Children.TryGetValue(new YamlScalarNode(key), out var node)
            ? ((int)node.Start.Line, (int)node.Start.Column)
            : ((int)_node.Start.Line, (int)_node.Start.Column);

    public YamlFields? Map(string key, bool required = false)
    {
        if (!TryGet(key, required, out var node)) return null;
        if (node is YamlMappingNode map) return new YamlFields(File, FieldName(key) + ".", map, _problems);
        return Bad<YamlFields?>(node, key, "expected a mapping of fields");
    }

    /// <summary>Call last: every key not read is reported as unknown, with the valid ones.</summary>
    public void RejectUnknown()
    {
        foreach (var (key, value) in _node.Children)
        {
            var name = (key as YamlScalarNode)?.Value ?? "?";
            if (!_read.Contains(name))
                _problems.Add(Located(key, name, $"unknown field; valid fields here: {string.Join(", ", _read.Order(StringComparer.Ordinal))}"));
        }
    }

    /// <summary>Throws all collected problems, if any.</summary>
    public void ThrowIfProblems()
    {
        if (_problems.Count > 0)
            throw new InputException(_problems.OrderBy(p => p.Line).ThenBy(p => p.Column).ToArray());
    }

    private YamlScalarNode? Scalar(string key, bool required)
    {
        if (!TryGet(key, required, out var node)) return null;
        if (node is YamlScalarNode scalar) return scalar;
        return Bad<YamlScalarNode?>(node, key, "expected a single value");
    }

    private bool TryGet(string key, bool required, out YamlNode node)
    {
        _read.Add(key);
        if (_node.Children.TryGetValue(new YamlScalarNode(key), out node!)
            && !(node is YamlScalarNode { Value: null or "" or "~" or "null", Style: ScalarStyle.Plain }))
            return true;
        if (required) _problems.Add(At(key, "is required"));
        return false;
    }

    private T Bad<T>(YamlNode node, string key, string message)
    {
        _problems.Add(Located(node, key, message));
        return default!;
    }

    private InputProblem Located(YamlNode node, string key, string message) =>
        new(File, (int)node.Start.Line, (int)node.Start.Column, FieldName(key), message);

    private InputProblem At(string key, string message)
    {
        var (line, column) = PositionOf(key);
        return new InputProblem(File, line, column, FieldName(key), message);
    }

    private string FieldName(string key) => _path + key;
}
