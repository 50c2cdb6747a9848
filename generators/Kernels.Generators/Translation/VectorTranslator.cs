using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Kernels.Generators.Helpers;
using Kernels.Generators.Models;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Kernels.Generators.Translation;

/// <summary>
/// Translates a user function <c>float F(float x[, int column[, float context, float parameter]])</c> into Vector256 code, lane for lane the same function.
/// The subset: constants, parameters, locals, + − * / (no integer division), comparisons, &amp;&amp; || !, ?:, casts
/// between int and float, and Math/MathF Min, Max, Abs, Exp, Log, Tanh, Sqrt. Double arithmetic is done in float, and
/// a division by a constant is a multiplication by its float reciprocal (the lanes then agree with the scalar function
/// to about an ulp, not bit for bit).
/// </summary>
internal sealed class VectorTranslator
{
    /// <summary>
    /// The vector type the translation is written in. Every call it emits also exists for Vector512 (VectorMath
    /// included), so the emitter derives the sixteen-lane form by replacing this name.
    /// </summary>
    public const string VectorType = "global::System.Runtime.Intrinsics.Vector256";
    private const string V = VectorType;
    private const string VectorMath = "global::Kernels.Cpu.VectorMath";

    /// <summary>The generated parameter names of the vector <c>Apply</c>.</summary>
    public const string XName = "x";
    public const string ColumnsName = "columns";
    public const string ContextName = "context";
    public const string ParameterName = "parameter";

    private readonly SemanticModel _model;
    private readonly Dictionary<ISymbol, (string Name, Kind Kind)> _locals = new(SymbolEqualityComparer.Default);

    private VectorTranslator(SemanticModel model) => _model = model;

    private enum Kind { Float, Int, Mask }

    /// <summary>Translates <paramref name="method"/>, or says in <paramref name="reason"/> why it stays scalar.</summary>
    public static VectorBody? TryTranslate(MethodDeclarationSyntax method, SemanticModel model, out string reason)
    {
        var translator = new VectorTranslator(model);
        try
        {
            reason = string.Empty;
            return translator.TranslateBody(method);
        }
        catch (NotVectorisableException e)
        {
            reason = e.Message;
            return null;
        }
    }

    private VectorBody TranslateBody(MethodDeclarationSyntax method)
    {
        if (method.ExpressionBody is { } arrow)
            return new VectorBody(EquatableArray<string>.Empty, AsFloat(Translate(arrow.Expression)));
        if (method.Body is null)
            throw new NotVectorisableException("it has no body in this compilation");

        var statements = new List<string>();
        var list = method.Body.Statements;
        for (int i = 0; i < list.Count; i++)
        {
            switch (list[i])
            {
                case LocalDeclarationStatementSyntax local:
                    foreach (var variable in local.Declaration.Variables)
                    {
                        if (variable.Initializer is null || _model.GetDeclaredSymbol(variable) is not ILocalSymbol symbol)
                            throw new NotVectorisableException($"local '{variable.Identifier.Text}' has no initializer");
                        var (code, kind) = Translate(variable.Initializer.Value);
                        if (IsFloating(symbol.Type) && kind == Kind.Int)
                            (code, kind) = (ToFloat(code, kind), Kind.Float);
                        string name = "__" + symbol.Name;
                        statements.Add($"var {name} = {code};");
                        _locals[symbol] = (name, kind);
                    }
                    break;
                case ReturnStatementSyntax { Expression: { } result } when i == list.Count - 1:
                    return new VectorBody(new EquatableArray<string>(statements), AsFloat(Translate(result)));
                default:
                    throw new NotVectorisableException($"it uses a {Describe(list[i])} statement (only local declarations and a final return are vectorised)");
            }
        }
        throw new NotVectorisableException("its body does not end with a return");
    }

    private string AsFloat((string Code, Kind Kind) value) => value.Kind switch
    {
        Kind.Float => value.Code,
        Kind.Int => ToFloat(value.Code, value.Kind),
        _ => throw new NotVectorisableException("it returns a condition"),
    };

    private (string Code, Kind Kind) Translate(ExpressionSyntax expression)
    {
        var constant = _model.GetConstantValue(expression);
        if (constant.HasValue && constant.Value is not null)
            return Constant(expression, constant.Value);

        switch (expression)
        {
            case ParenthesizedExpressionSyntax p:
                var inner = Translate(p.Expression);
                return ($"({inner.Code})", inner.Kind);
            case IdentifierNameSyntax id:
                return Identifier(id);
            case PrefixUnaryExpressionSyntax unary:
                return Unary(unary);
            case BinaryExpressionSyntax binary:
                return Binary(binary);
            case ConditionalExpressionSyntax conditional:
                return Conditional(conditional);
            case CastExpressionSyntax cast:
                return Cast(cast);
            case InvocationExpressionSyntax invocation:
                return Invocation(invocation);
            default:
                throw new NotVectorisableException($"'{expression}' ({Describe(expression)}) is outside the subset");
        }
    }

    private (string, Kind) Constant(ExpressionSyntax expression, object value)
    {
        var type = _model.GetTypeInfo(expression).ConvertedType;
        switch (type?.SpecialType)
        {
            case SpecialType.System_Boolean:
                return ((bool)value ? $"{V}<float>.AllBitsSet" : $"{V}<float>.Zero", Kind.Mask);
            case SpecialType.System_Int32:
                return ($"{V}.Create({Convert.ToInt32(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture)})", Kind.Int);
            case SpecialType.System_Single:
            case SpecialType.System_Double:
                return ($"{V}.Create({FloatLiteral((float)Convert.ToDouble(value, CultureInfo.InvariantCulture))})", Kind.Float);
            default:
                throw new NotVectorisableException($"constant '{expression}' has type {type?.ToDisplayString() ?? "unknown"}");
        }
    }

    private (string, Kind) Identifier(IdentifierNameSyntax id)
    {
        var symbol = _model.GetSymbolInfo(id).Symbol;
        if (symbol is IParameterSymbol parameter)
            return parameter.Ordinal switch
            {
                0 => (XName, Kind.Float),
                1 => (ColumnsName, Kind.Int),
                2 => (ContextName, Kind.Float),
                _ => (ParameterName, Kind.Float),
            };
        if (symbol is not null && _locals.TryGetValue(symbol, out var local))
            return (local.Name, local.Kind);
        throw new NotVectorisableException($"it reads '{id}', which is not a parameter, local or constant");
    }

    private (string, Kind) Unary(PrefixUnaryExpressionSyntax unary)
    {
        var (code, kind) = Translate(unary.Operand);
        switch (unary.Kind())
        {
            case SyntaxKind.UnaryMinusExpression when kind != Kind.Mask:
                return ($"(-{code})", kind);
            case SyntaxKind.UnaryPlusExpression when kind != Kind.Mask:
                return (code, kind);
            case SyntaxKind.LogicalNotExpression when kind == Kind.Mask:
                return ($"(~{code})", Kind.Mask);
            default:
                throw new NotVectorisableException($"it uses the operator in '{unary}'");
        }
    }

    private (string, Kind) Binary(BinaryExpressionSyntax binary)
    {
        var left = Translate(binary.Left);
        var right = Translate(binary.Right);
        switch (binary.Kind())
        {
            case SyntaxKind.LogicalAndExpression:
            case SyntaxKind.LogicalOrExpression:
                if (left.Kind != Kind.Mask || right.Kind != Kind.Mask)
                    throw new NotVectorisableException($"'{binary}' is not a condition");
                return ($"({left.Code} {(binary.IsKind(SyntaxKind.LogicalAndExpression) ? "&" : "|")} {right.Code})", Kind.Mask);
            case SyntaxKind.AddExpression:
            case SyntaxKind.SubtractExpression:
            case SyntaxKind.MultiplyExpression:
            case SyntaxKind.DivideExpression:
            {
                var (l, r, kind) = Align(left, right, binary);
                if (kind == Kind.Int && binary.IsKind(SyntaxKind.DivideExpression))
                    throw new NotVectorisableException($"'{binary}' is an integer division");
                // Division by a constant becomes a multiplication by its reciprocal (within 1 ulp of the quotient): a
                // vector division would otherwise block the divider for several cycles on every element.
                if (binary.IsKind(SyntaxKind.DivideExpression) && kind == Kind.Float
                    && _model.GetConstantValue(binary.Right) is { HasValue: true, Value: { } divisor }
                    && Convert.ToDouble(divisor, CultureInfo.InvariantCulture) is var d && d != 0 && !double.IsNaN(d) && !double.IsInfinity(d)
                    && !float.IsInfinity((float)(1.0 / d)) && (float)(1.0 / d) != 0f)
                    return ($"({l} * {V}.Create({FloatLiteral((float)(1.0 / (float)d))}))", kind);
                return ($"({l} {binary.OperatorToken.Text} {r})", kind);
            }
            case SyntaxKind.LessThanExpression: return Compare("LessThan", left, right, binary);
            case SyntaxKind.LessThanOrEqualExpression: return Compare("LessThanOrEqual", left, right, binary);
            case SyntaxKind.GreaterThanExpression: return Compare("GreaterThan", left, right, binary);
            case SyntaxKind.GreaterThanOrEqualExpression: return Compare("GreaterThanOrEqual", left, right, binary);
            case SyntaxKind.EqualsExpression: return Compare("Equals", left, right, binary);
            case SyntaxKind.NotEqualsExpression:
                var (code, _) = Compare("Equals", left, right, binary);
                return ($"(~{code})", Kind.Mask);
            default:
                throw new NotVectorisableException($"it uses the operator '{binary.OperatorToken.Text}'");
        }
    }

    private (string, Kind) Compare(string method, (string Code, Kind Kind) left, (string Code, Kind Kind) right, ExpressionSyntax at)
    {
        var (l, r, kind) = Align(left, right, at);
        return kind == Kind.Int ? ($"{V}.AsSingle({V}.{method}({l}, {r}))", Kind.Mask) : ($"{V}.{method}({l}, {r})", Kind.Mask);
    }

    private (string, Kind) Conditional(ConditionalExpressionSyntax conditional)
    {
        var condition = Translate(conditional.Condition);
        if (condition.Kind != Kind.Mask)
            throw new NotVectorisableException($"'{conditional.Condition}' is not a condition");
        var (a, b, kind) = Align(Translate(conditional.WhenTrue), Translate(conditional.WhenFalse), conditional);
        string mask = kind == Kind.Int ? $"{V}.AsInt32({condition.Code})" : condition.Code;
        return ($"{V}.ConditionalSelect({mask}, {a}, {b})", kind);
    }

    private (string, Kind) Cast(CastExpressionSyntax cast)
    {
        var target = _model.GetTypeInfo(cast.Type).Type;
        var (code, kind) = Translate(cast.Expression);
        if (target is not null && IsFloating(target) && kind != Kind.Mask)
            return (ToFloat(code, kind), Kind.Float);
        if (target?.SpecialType == SpecialType.System_Int32 && kind != Kind.Mask)
            return kind == Kind.Int ? (code, kind) : ($"{V}.ConvertToInt32({code})", Kind.Int);
        throw new NotVectorisableException($"it casts to {target?.ToDisplayString() ?? "an unknown type"}");
    }

    private (string, Kind) Invocation(InvocationExpressionSyntax invocation)
    {
        if (_model.GetSymbolInfo(invocation).Symbol is not IMethodSymbol method)
            throw new NotVectorisableException($"'{invocation.Expression}' cannot be resolved");
        string owner = method.ContainingType.ToDisplayString();
        if (owner != "System.Math" && owner != "System.MathF")
            throw new NotVectorisableException($"it calls '{owner}.{method.Name}'");
        var args = invocation.ArgumentList.Arguments.Select(a => Translate(a.Expression)).ToArray();
        switch (method.Name)
        {
            case "Min" when args.Length == 2:
            case "Max" when args.Length == 2:
                var (a, b, kind) = Align(args[0], args[1], invocation);
                return ($"{V}.{method.Name}({a}, {b})", kind);
            case "Abs" when args.Length == 1 && args[0].Kind != Kind.Mask:
                return ($"{V}.Abs({args[0].Code})", args[0].Kind);
            case "Exp" when args.Length == 1:
            case "Log" when args.Length == 1:
            case "Tanh" when args.Length == 1:
                return ($"{VectorMath}.{method.Name}({AsFloat(args[0])})", Kind.Float);
            case "Sqrt" when args.Length == 1:
                return ($"{V}.Sqrt({AsFloat(args[0])})", Kind.Float);
            default:
                throw new NotVectorisableException($"it calls '{owner}.{method.Name}'");
        }
    }

    private static (string Left, string Right, Kind Kind) Align((string Code, Kind Kind) left, (string Code, Kind Kind) right, ExpressionSyntax at)
    {
        if (left.Kind == Kind.Mask || right.Kind == Kind.Mask)
            throw new NotVectorisableException($"'{at}' mixes conditions and numbers");
        if (left.Kind == right.Kind)
            return (left.Code, right.Code, left.Kind);
        return (ToFloat(left.Code, left.Kind), ToFloat(right.Code, right.Kind), Kind.Float);
    }

    private static string ToFloat(string code, Kind kind) => kind == Kind.Int ? $"{V}.ConvertToSingle({code})" : code;

    private static bool IsFloating(ITypeSymbol type) =>
        type.SpecialType is SpecialType.System_Single or SpecialType.System_Double;

    private static string FloatLiteral(float value)
    {
        if (float.IsNaN(value)) return "float.NaN";
        if (float.IsPositiveInfinity(value)) return "float.PositiveInfinity";
        if (float.IsNegativeInfinity(value)) return "float.NegativeInfinity";
        return value.ToString("R", CultureInfo.InvariantCulture) + "f";
    }

    private static string Describe(SyntaxNode node) => node.Kind().ToString().Replace("Expression", "").Replace("Statement", "").ToLowerInvariant();

    private sealed class NotVectorisableException(string reason) : Exception(reason);
}
