using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Downloads.Testing;

/// <summary>Records every log line (formatted message, exception text and structured values) of an app, for tests that check what is logged.</summary>
public sealed class RecordingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    /// <summary>Every line so far: category, level, message, exception, and each structured value.</summary>
    public IReadOnlyCollection<string> Lines => _lines;

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Recorder(categoryName, _lines);

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private sealed class Recorder(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            lines.Enqueue($"{category} {logLevel} {formatter(state, exception)} {exception} {values}");
        }
    }
}
