// The rules of the Jenkins JUnit schema (jenkins-junit.xsd, as kept in junit-team/junit5's
// platform-tests), checked in code: which elements, in which order, which attributes (required and
// allowed), plus what Jenkins and GitLab rely on beyond the schema: counts that add up and unique
// testcase names (GitLab keeps only the first of duplicates). Returns every violation found.
using System.Xml.Linq;

namespace Harness.Tests.Support;

public static class JunitRules
{
    private static readonly string[] SuitesAttributes = ["name", "time", "tests", "failures", "disabled", "errors"];
    private static readonly string[] SuiteAttributes = ["name", "tests", "failures", "errors", "time", "disabled", "skipped", "timestamp", "hostname", "id", "package"];
    private static readonly string[] CaseAttributes = ["name", "assertions", "time", "classname", "status"];
    private static readonly string[] ProblemAttributes = ["type", "message"];

    // Child order as sequences: (element, may repeat). Each child must match the next allowed slot.
    private static readonly (string Name, bool Many)[] SuiteChildren = [("properties", false), ("testcase", true), ("system-out", false), ("system-err", false)];
    private static readonly (string Name, bool Many)[] CaseChildren = [("skipped", false), ("error", true), ("failure", true), ("system-out", true), ("system-err", true)];

    public static IReadOnlyList<string> Check(string xml)
    {
        var problems = new List<string>();
        XDocument doc;
        try { doc = XDocument.Parse(xml); }
        catch (System.Xml.XmlException e) { return [$"not well-formed XML: {e.Message}"]; }
        var root = doc.Root!;
        IEnumerable<XElement> suites;
        if (root.Name == "testsuites")
        {
            Attributes(root, [], SuitesAttributes, problems);
            foreach (var child in root.Elements().Where(e => e.Name != "testsuite")) problems.Add($"testsuites: unexpected child <{child.Name}>");
            suites = root.Elements("testsuite").ToArray();
            CheckCount(root, "tests", suites.Sum(s => s.Elements("testcase").Count()), problems);
            CheckCount(root, "failures", suites.Sum(s => s.Elements("testcase").Count(c => c.Element("failure") is not null)), problems);
            CheckCount(root, "errors", suites.Sum(s => s.Elements("testcase").Count(c => c.Element("error") is not null)), problems);
        }
        else if (root.Name == "testsuite") suites = [root];
        else return [$"root element is <{root.Name}>, not <testsuites> or <testsuite>"];

        var names = new HashSet<(string?, string?)>();
        foreach (var suite in suites)
        {
            Attributes(suite, ["name", "tests"], SuiteAttributes, problems);
            Sequence(suite, SuiteChildren, problems);
            if (suite.Element("properties") is { } props)
            {
                Attributes(props, [], [], problems);
                if (!props.Elements().Any()) problems.Add("properties: needs at least one <property>");
                foreach (var p in props.Elements())
                {
                    if (p.Name != "property") problems.Add($"properties: unexpected child <{p.Name}>");
                    Attributes(p, ["name", "value"], ["name", "value"], problems);
                }
            }
            var cases = suite.Elements("testcase").ToArray();
            CheckCount(suite, "tests", cases.Length, problems);
            CheckCount(suite, "failures", cases.Count(c => c.Element("failure") is not null), problems);
            CheckCount(suite, "errors", cases.Count(c => c.Element("error") is not null), problems);
            CheckCount(suite, "skipped", cases.Count(c => c.Element("skipped") is not null), problems);
            foreach (var c in cases)
            {
                Attributes(c, ["name"], CaseAttributes, problems);
                Sequence(c, CaseChildren, problems);
                if (!names.Add(((string?)c.Attribute("classname"), (string?)c.Attribute("name"))))
                    problems.Add($"testcase {(string?)c.Attribute("classname")}/{(string?)c.Attribute("name")}: duplicate name (GitLab keeps only the first)");
                foreach (var p in c.Elements().Where(e => e.Name == "failure" || e.Name == "error")) Attributes(p, [], ProblemAttributes, problems);
                // skipped, system-out and system-err are xs:string: no attributes, no child elements.
                foreach (var s in c.Elements().Where(e => e.Name == "skipped" || e.Name == "system-out" || e.Name == "system-err"))
                {
                    Attributes(s, [], [], problems);
                    if (s.HasElements) problems.Add($"<{s.Name}>: text only, found child elements");
                }
            }
        }
        return problems;
    }

    private static void Attributes(XElement e, string[] required, string[] allowed, List<string> problems)
    {
        foreach (var r in required.Where(r => e.Attribute(r) is null)) problems.Add($"<{e.Name}>: missing required attribute {r}");
        foreach (var a in e.Attributes().Where(a => !a.IsNamespaceDeclaration && !allowed.Contains(a.Name.LocalName)))
            problems.Add($"<{e.Name}>: attribute {a.Name} is not in the schema");
    }

    private static void Sequence(XElement parent, (string Name, bool Many)[] slots, List<string> problems)
    {
        var slot = 0;
        string? last = null;
        foreach (var child in parent.Elements())
        {
            var name = child.Name.LocalName;
            while (slot < slots.Length && slots[slot].Name != name) slot++;
            if (slot == slots.Length) { problems.Add($"<{parent.Name}>: <{name}> is out of order or not allowed here"); return; }
            if (last == name && !slots[slot].Many) problems.Add($"<{parent.Name}>: more than one <{name}>");
            last = name;
        }
    }

    private static void CheckCount(XElement e, string attribute, int actual, List<string> problems)
    {
        if (e.Attribute(attribute) is not { } a) return;
        if (!int.TryParse(a.Value, out var n)) problems.Add($"<{e.Name}> {attribute}=\"{a.Value}\" is not a number");
        else if (n != actual) problems.Add($"<{e.Name}> {attribute}=\"{n}\" but the document holds {actual}");
    }
}
