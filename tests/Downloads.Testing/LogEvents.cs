using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Downloads.Testing;

/// <summary>The <c>[LoggerMessage]</c> methods of an assembly and their event ids, found by reflection.</summary>
public static class LogEvents
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;

    /// <summary>Every <c>[LoggerMessage]</c> method of <paramref name="assembly"/> as (type.method, event id).</summary>
    public static IReadOnlyList<(string Method, int EventId)> Of(Assembly assembly) =>
        [.. from type in assembly.GetTypes()
            from method in type.GetMethods(Declared)
            let attribute = method.GetCustomAttribute<LoggerMessageAttribute>()
            where attribute is not null
            select ($"{type.FullName}.{method.Name}", attribute.EventId)];

    /// <summary>Event ids used by more than one method, each with the methods that use it (empty when all are unique).</summary>
    public static IReadOnlyList<string> Duplicates(IReadOnlyList<(string Method, int EventId)> events) =>
        [.. events.GroupBy(e => e.EventId)
            .Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.Method))}")];

    /// <summary>Every <c>public const int</c> of <paramref name="table"/> (a service's event-id table).</summary>
    public static IReadOnlySet<int> Table(Type table) =>
        table.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(int))
            .Select(f => (int)f.GetRawConstantValue()!)
            .ToHashSet();
}
