using Kernels.Generators.Diagnostics;
using Kernels.Generators.Helpers;

namespace Kernels.Generators.Models;

/// <summary>The outcome of parsing one declaration: a model to emit (null when the declaration is in error) and its diagnostics.</summary>
internal sealed record ParseResult<TModel>(TModel? Model, EquatableArray<DiagnosticInfo> Diagnostics) where TModel : class;
