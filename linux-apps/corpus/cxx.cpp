// A C++17 program of the corpus (scripts/corpus.sh builds it static for x86_64 and aarch64):
// libstdc++'s iostreams, exceptions, containers and virtual calls in one run, with output that
// depends on nothing but the input file, so replicas and the Linux reference agree byte for byte.
//
//   cxx TEXT   reads TEXT, counts its words, prints a report on stdout (a line on stderr too),
//              writes cxx-out.txt and exits 0 (2 when TEXT cannot be read).
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

// A custom exception class, thrown several frames below where it is caught.
class BadNumber : public std::exception {
public:
  explicit BadNumber(std::string token) : token_(std::move(token)), what_("not a number: " + token_) {}
  const char* what() const noexcept override { return what_.c_str(); }
  const std::string& token() const { return token_; }

private:
  std::string token_;
  std::string what_;
};

long digit_value(char c, const std::string& token) {
  if (c < '0' || c > '9') throw BadNumber(token);
  return c - '0';
}

long parse_number(const std::string& token) {
  if (token.empty()) throw BadNumber(token);
  long n = 0;
  for (char c : token) n = n * 10 + digit_value(c, token);
  return n;
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      word += static_cast<char>(std::tolower(u));
    } else if (!word.empty()) {
      words.push_back(word);
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(word);
  return words;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream all;
  all << in.rdbuf();
  return all.str();
}

// A small virtual hierarchy: three levels, overridden and inherited members.
class Shape {
public:
  virtual ~Shape() = default;
  virtual double area() const = 0;
  virtual std::string name() const { return "shape"; }
  std::string describe() const {
    std::ostringstream s;
    s << std::left << std::setw(7) << name() << " area=" << std::fixed << std::setprecision(3) << area();
    return s.str();
  }
};

class Rect : public Shape {
public:
  Rect(double w, double h) : w_(w), h_(h) {}
  double area() const override { return w_ * h_; }
  std::string name() const override { return "rect"; }

protected:
  double w_, h_;
};

class Square : public Rect {
public:
  explicit Square(double side) : Rect(side, side) {}
  std::string name() const override { return "square"; }
};

class Circle : public Shape {
public:
  explicit Circle(double r) : r_(r) {}
  double area() const override { return 3.14159265358979 * r_ * r_; }
  std::string name() const override { return "circle"; }

private:
  double r_;
};

class Blob : public Shape {
public:
  double area() const override { return 0.5; }  // keeps Shape::name()
};

// Throws std::runtime_error two frames down when the sum is odd.
void check_even(long sum) {
  if (sum % 2 != 0) throw std::runtime_error("odd sum " + std::to_string(sum));
}
void check_sum(long sum) { check_even(sum); }

std::uint32_t fnv1a(const std::string& s) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: cxx TEXT" << std::endl;
    return 2;
  }
  std::string text;
  try {
    text = read_file(argv[1]);
  } catch (const std::runtime_error& e) {
    std::cerr << "cxx: " << e.what() << std::endl;
    return 2;
  }
  const std::vector<std::string> words = split_words(text);
  std::cout << "cxx: " << words.size() << " words, " << text.size() << " bytes, fnv1a=" << std::hex
            << std::setw(8) << std::setfill('0') << fnv1a(text) << std::dec << std::setfill(' ') << "\n";

  // The same counts in an ordered and a hashed map; only the ordered one is iterated.
  std::map<std::string, int> ordered;
  std::unordered_map<std::string, int> hashed;
  for (const auto& w : words) {
    ++ordered[w];
    ++hashed[w];
  }
  bool agree = ordered.size() == hashed.size();
  for (const auto& [word, n] : ordered) agree = agree && hashed.at(word) == n;
  std::cout << "distinct " << ordered.size() << ", maps agree: " << (agree ? "yes" : "no") << "\n";

  // Top words: count descending, then alphabetically (std::sort on a copy of the map).
  std::vector<std::pair<std::string, int>> top(ordered.begin(), ordered.end());
  std::sort(top.begin(), top.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  for (std::size_t i = 0; i < top.size() && i < 5; ++i) {
    std::cout << "  " << std::right << std::setw(2) << i + 1 << ". " << std::left << std::setw(10) << top[i].first
              << std::right << std::setw(3) << top[i].second << "\n";
  }

  // Words by length, longest first, ties alphabetical.
  std::vector<std::string> by_length;
  for (const auto& entry : ordered) by_length.push_back(entry.first);
  std::sort(by_length.begin(), by_length.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  });
  std::cout << "longest: " << by_length.front() << " (" << by_length.front().size() << ")\n";

  // Numbers among the words: a BadNumber from three frames down for every other token.
  long sum = 0;
  int numbers = 0, others = 0;
  std::string first_bad;
  for (const auto& w : words) {
    try {
      sum += parse_number(w);
      ++numbers;
    } catch (const BadNumber& e) {
      if (others++ == 0) first_bad = e.what();
    }
  }
  std::cout << "numbers " << numbers << " sum " << sum << ", others " << others << " (first: " << first_bad << ")\n";
  try {
    check_sum(sum + 1);
    std::cout << "no exception?\n";
  } catch (const std::runtime_error& e) {
    std::cout << "caught runtime_error: " << e.what() << "\n";
  }

  // vector::at past the end.
  try {
    std::cout << words.at(words.size()) << "\n";
  } catch (const std::out_of_range&) {
    std::cout << "caught out_of_range at index " << words.size() << "\n";
  }

  // Virtual calls through base pointers.
  std::vector<std::unique_ptr<Shape>> shapes;
  shapes.push_back(std::make_unique<Rect>(2.0, 3.5));
  shapes.push_back(std::make_unique<Square>(1.5));
  shapes.push_back(std::make_unique<Circle>(1.0));
  shapes.push_back(std::make_unique<Blob>());
  double total = 0;
  for (const auto& s : shapes) {
    std::cout << "  " << s->describe() << "\n";
    total += s->area();
  }
  std::ostringstream t;
  t << std::fixed << std::setprecision(4) << total;
  std::cout << "total area " << t.str() << "\n";

  // The report file.
  std::ofstream out("cxx-out.txt", std::ios::trunc);
  out << "words " << words.size() << "\n";
  for (const auto& [word, n] : ordered) out << word << ' ' << n << "\n";
  out.close();
  if (!out) {
    std::cerr << "cxx: cannot write cxx-out.txt" << std::endl;
    return 1;
  }
  std::cout << "wrote cxx-out.txt (" << ordered.size() + 1 << " lines)" << std::endl;
  std::cerr << "cxx: done" << std::endl;
  return 0;
}
