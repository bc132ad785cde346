// The fields of a record, by name: what lets the bindings fill a C++ struct from the Python record
// of the same name field by field (bindings/read_records.hpp), and a rule, loss or penalty declare its
// records without any binding code of its own.
#pragma once

#include <cstddef>
#include <tuple>

namespace fastdescent {

template <class Record, class Member>
struct Field {
    const char* name;
    Member Record::*member;
};

template <class Record, class Member>
constexpr Field<Record, Member> field(const char* name, Member Record::*member) {
    return {name, member};
}

// A state array that the rule's settings may leave empty (AMSGrad's maximum without amsgrad): the
// bindings accept its full size or none, and the rule tests its presence, never a flag, so that a
// flag and an array that disagree cannot reach memory that is not there.
template <class T>
struct Optional {
    T* values = nullptr;
    explicit operator bool() const { return values != nullptr; }
    T& operator[](std::size_t i) const { return values[i]; }
};

// One value carried between calls (a (1,) array in Python): a penalty's running total.
template <class T>
struct Cell {
    T* value = nullptr;
    T& operator*() const { return *value; }
};

}  // namespace fastdescent

// Inside a record's `static constexpr auto fields()`: FASTDESCENT_FIELDS(Self, a, b, c).
#define FASTDESCENT_FIELD_OF(Self, member) ::fastdescent::field(#member, &Self::member)
#define FASTDESCENT_FIELDS_1(S, a) FASTDESCENT_FIELD_OF(S, a)
#define FASTDESCENT_FIELDS_2(S, a, ...) FASTDESCENT_FIELD_OF(S, a), FASTDESCENT_FIELDS_1(S, __VA_ARGS__)
#define FASTDESCENT_FIELDS_3(S, a, ...) FASTDESCENT_FIELD_OF(S, a), FASTDESCENT_FIELDS_2(S, __VA_ARGS__)
#define FASTDESCENT_FIELDS_4(S, a, ...) FASTDESCENT_FIELD_OF(S, a), FASTDESCENT_FIELDS_3(S, __VA_ARGS__)
#define FASTDESCENT_FIELDS_5(S, a, ...) FASTDESCENT_FIELD_OF(S, a), FASTDESCENT_FIELDS_4(S, __VA_ARGS__)
#define FASTDESCENT_FIELDS_6(S, a, ...) FASTDESCENT_FIELD_OF(S, a), FASTDESCENT_FIELDS_5(S, __VA_ARGS__)
#define FASTDESCENT_FIELDS_7(S, a, ...) FASTDESCENT_FIELD_OF(S, a), FASTDESCENT_FIELDS_6(S, __VA_ARGS__)
#define FASTDESCENT_FIELDS_8(S, a, ...) FASTDESCENT_FIELD_OF(S, a), FASTDESCENT_FIELDS_7(S, __VA_ARGS__)
#define FASTDESCENT_FIELDS_9(S, a, ...) FASTDESCENT_FIELD_OF(S, a), FASTDESCENT_FIELDS_8(S, __VA_ARGS__)
#define FASTDESCENT_FIELDS_10(S, a, ...) FASTDESCENT_FIELD_OF(S, a), FASTDESCENT_FIELDS_9(S, __VA_ARGS__)
#define FASTDESCENT_FIELDS_11(S, a, ...) FASTDESCENT_FIELD_OF(S, a), FASTDESCENT_FIELDS_10(S, __VA_ARGS__)
#define FASTDESCENT_FIELDS_12(S, a, ...) FASTDESCENT_FIELD_OF(S, a), FASTDESCENT_FIELDS_11(S, __VA_ARGS__)
#define FASTDESCENT_COUNT_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, N, ...) N
#define FASTDESCENT_COUNT(...) FASTDESCENT_COUNT_(__VA_ARGS__, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define FASTDESCENT_CAT_(a, b) a##b
#define FASTDESCENT_CAT(a, b) FASTDESCENT_CAT_(a, b)
#define FASTDESCENT_FIELDS(Self, ...) \
    std::make_tuple(FASTDESCENT_CAT(FASTDESCENT_FIELDS_, FASTDESCENT_COUNT(__VA_ARGS__))(Self, __VA_ARGS__))
#define FASTDESCENT_NO_FIELDS() std::tuple<>()
