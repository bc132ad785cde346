// Every update rule, registered once: ``Rules`` for the step optimizers (fastdescent.optim),
// ``FitRules`` for the fused fits (the rules python/fastdescent/_plan.py may put in a FitPlan).
#pragma once

#include "rules/adagrad.hpp"
#include "rules/adam.hpp"
#include "rules/asgd.hpp"
#include "rules/nadam.hpp"
#include "rules/rmsprop.hpp"
#include "rules/sag.hpp"
#include "rules/sgd.hpp"
#include "type_list.hpp"

namespace fastdescent {

using Rules = TypeList<rules::Sgd, rules::Asgd, rules::Sag, rules::Adam, rules::Adagrad, rules::Rmsprop, rules::Nadam>;
using FitRules = TypeList<rules::Sgd, rules::Adam, rules::Adagrad, rules::Rmsprop, rules::Nadam>;

}  // namespace fastdescent
