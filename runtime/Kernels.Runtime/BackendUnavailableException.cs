using System;

namespace Kernels.Runtime;

/// <summary>Thrown when the requested backend is not present on this machine, or cannot be used as configured.</summary>
public sealed class BackendUnavailableException : InvalidOperationException
{
    /// <summary>Creates the exception with a message that names what is present.</summary>
    public BackendUnavailableException(string message) : base(message) { }
}
