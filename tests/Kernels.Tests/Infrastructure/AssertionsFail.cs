using System.Collections.Concurrent;
using System.Diagnostics;
using NUnit.Framework;

namespace Kernels.Tests;

/// <summary>
/// ILGPU's emulator checks every ArrayView access with Trace.Assert, on its own worker threads, where a failed
/// assertion (or an exception) ends the whole test process. Here failures are recorded instead, and every backend test
/// checks the record after it runs (<see cref="Infrastructure.BackendTest"/>), so an out-of-bounds access inside any
/// kernel under test becomes a failing test that names the access.
/// </summary>
[SetUpFixture]
public sealed class AssertionsFail
{
    private static readonly ConcurrentQueue<string> s_failures = new();

    [OneTimeSetUp]
    public void InstallListener()
    {
        Trace.Listeners.Clear();
        Trace.Listeners.Add(new RecordingListener());
    }

    /// <summary>Returns and clears the assertion failures recorded since the last call.</summary>
    public static string[] TakeFailures()
    {
        var taken = new System.Collections.Generic.List<string>();
        while (s_failures.TryDequeue(out var failure)) taken.Add(failure);
        return taken.ToArray();
    }

    private sealed class RecordingListener : TraceListener
    {
        public override void Fail(string? message, string? detailMessage) =>
            s_failures.Enqueue($"{message} {detailMessage}".Trim());

        public override void Write(string? message) { }

        public override void WriteLine(string? message) { }
    }
}
