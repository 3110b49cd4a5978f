import itertools

from shared.codes import check_digit, is_well_formed, new_code, normalize


def test_new_codes_are_well_formed_ten_digits_and_not_sequential():
    codes = [new_code() for _ in range(1000)]
    assert all(len(c) == 10 and c.isdigit() and is_well_formed(c) for c in codes)
    assert len(set(codes)) == len(codes)
    numbers = sorted(int(c) for c in codes)
    assert not any(b - a == 1 for a, b in itertools.pairwise(numbers))


def test_every_single_mistyped_digit_is_caught():
    code = new_code()
    for i in range(10):
        for d in "0123456789":
            if d != code[i]:
                assert not is_well_formed(code[:i] + d + code[i + 1 :])


def test_every_swap_of_adjacent_digits_is_caught():
    for _ in range(200):
        code = new_code()
        for i in range(9):
            if code[i] != code[i + 1]:
                swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
                assert not is_well_formed(swapped)


def test_spaces_and_dashes_typed_by_people_are_ignored():
    body = "123456789"
    code = body + check_digit(body)
    assert normalize(f" {code[:3]} {code[3:6]}-{code[6:]} ") == code
    assert not is_well_formed("12345")
    assert not is_well_formed("abcdefghij")
    assert not is_well_formed("١٢٣٤٥٦٧٨٩٠")  # non-ASCII digits
