using NetArchTest.Rules;

namespace Downloads.Redirector.Tests;

/// <summary>
/// Folders that must stay one-way (docs/architecture.md, "Selection"): the state does not depend on the
/// policy that reads it, and metrics know nothing of the health checks that report to them.
/// </summary>
public class DependencyTests
{
    private static readonly System.Reflection.Assembly Redirector = typeof(RedirectorOptions).Assembly;

    private static string Namespace(string folder) => $"Downloads.Redirector.{folder}";

    [Theory]
    [InlineData("Snapshots", "Selection")]
    [InlineData("Metrics", "Health")]
    [InlineData("Snapshots", "Health")]
    public void A_folder_does_not_depend_on_the_one_above_it(string lower, string upper)
    {
        var result = Types.InAssembly(Redirector).That().ResideInNamespace(Namespace(lower))
            .ShouldNot().HaveDependencyOn(Namespace(upper)).GetResult();
        Assert.True(result.IsSuccessful, $"{lower}/ depends on {upper}/ in: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Theory]
    [InlineData("Selection", "Snapshots")]
    [InlineData("Health", "Metrics")]
    [InlineData("Health", "Snapshots")]
    public void The_check_sees_the_dependencies_that_are_allowed(string upper, string lower)
    {
        // The other way round exists; if the check did not see it, the test above would pass for nothing.
        var types = Types.InAssembly(Redirector).That().ResideInNamespace(Namespace(upper)).And().HaveDependencyOn(Namespace(lower)).GetTypes();
        Assert.NotEmpty(types);
    }
}
