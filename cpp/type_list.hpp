// Lists of types (the registries of rules, losses and penalties), their products, and finding a
// type of a list by its name at run time.
#pragma once

#include <string_view>
#include <tuple>

namespace fastdescent {

template <class... Ts>
struct TypeList {};

template <class... Lists>
struct Concat {
    using type = TypeList<>;
};
template <class... A>
struct Concat<TypeList<A...>> {
    using type = TypeList<A...>;
};
template <class... A, class... B, class... Rest>
struct Concat<TypeList<A...>, TypeList<B...>, Rest...> {
    using type = typename Concat<TypeList<A..., B...>, Rest...>::type;
};

// One fused fit: a loss, a penalty and an update rule.
template <class Loss, class Penalty, class Rule>
struct Combination {
    using LossType = Loss;
    using PenaltyType = Penalty;
    using RuleType = Rule;
};

template <class Loss, class Penalty, class Rules>
struct WithRules;
template <class Loss, class Penalty, class... Rules>
struct WithRules<Loss, Penalty, TypeList<Rules...>> {
    using type = TypeList<Combination<Loss, Penalty, Rules>...>;
};

template <class Loss, class Penalties, class Rules>
struct WithPenalties;
template <class Loss, class... Penalties, class Rules>
struct WithPenalties<Loss, TypeList<Penalties...>, Rules> {
    using type = typename Concat<typename WithRules<Loss, Penalties, Rules>::type...>::type;
};

// Every (loss, penalty, rule) of the three lists.
template <class Losses, class Penalties, class Rules>
struct Product;
template <class... Losses, class Penalties, class Rules>
struct Product<TypeList<Losses...>, Penalties, Rules> {
    using type = typename Concat<typename WithPenalties<Losses, Penalties, Rules>::type...>::type;
};

// A penalty and the update rules its fits run with.
template <class Penalty, class Rules>
struct PenaltyWithRules {};

// Every (loss, penalty, rule) with a rule its penalty runs with.
template <class Losses, class PenaltiesWithRules>
struct FitProduct;
template <class Losses, class... Penalties, class... Rules>
struct FitProduct<Losses, TypeList<PenaltyWithRules<Penalties, Rules>...>> {
    using type = typename Concat<typename Product<Losses, TypeList<Penalties>, Rules>::type...>::type;
};

// Calls f(C{}) for the combination of the list with these names; false if none has them.
template <class... Cs, class F>
bool visit_combination(TypeList<Cs...>, std::string_view loss, std::string_view penalty, std::string_view rule,
                       F&& f) {
    return ((loss == Cs::LossType::kName && penalty == Cs::PenaltyType::kName && rule == Cs::RuleType::kName &&
             (f(Cs{}), true)) ||
            ...);
}

// std::tuple<Of<T, Ts>...> for the types of a list.
template <template <class, class> class Of, class T, class List>
struct TupleOf;
template <template <class, class> class Of, class T, class... Ts>
struct TupleOf<Of, T, TypeList<Ts...>> {
    using type = std::tuple<Of<T, Ts>...>;
};

// Calls f(Ts{}) for the type of the list whose kName is `name`; false if none is.
template <class... Ts, class F>
bool visit_by_name(TypeList<Ts...>, std::string_view name, F&& f) {
    return ((name == Ts::kName && (f(Ts{}), true)) || ...);
}

}  // namespace fastdescent
