// The Python docs' ThreadPoolExecutor example (download several pages, then process
// each) written with a coroutine over the thread pool: then() turns each page into its
// size on the worker that fetched it, co_await collects them in order, when_all waits
// for the lot. The "download" is simulated so the example needs no network.
#include <concurrent/futures.hpp>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace cf = concurrent::futures;

namespace {

// Stands in for urllib.request.urlopen(url).read(): a page whose size depends on the
// URL, or an error for a host that does not exist.
std::string load_url(const std::string& url) {
  if (url.find("nonexistent") != std::string::npos) {
    throw std::runtime_error("name resolution failed for " + url);
  }
  return std::string(url.size() * 100, 'x');
}

cf::Future<std::size_t> crawl(cf::ThreadPoolExecutor& pool, std::vector<std::string> urls) {
  co_await cf::resume_on(pool);  // the rest runs on the pool, not in main()
  std::vector<cf::Future<std::size_t>> sizes;
  sizes.reserve(urls.size());
  for (const std::string& url : urls) {
    sizes.push_back(
        pool.submit(load_url, url).then([](const std::string& page) { return page.size(); }));
  }
  co_await cf::when_all(sizes);
  std::size_t total = 0;
  for (std::size_t i = 0; i < urls.size(); ++i) {
    try {
      const std::size_t size = co_await sizes[i];
      std::printf("'%s' page is %zu bytes\n", urls[i].c_str(), size);
      total += size;
    } catch (const std::exception& e) {
      std::printf("'%s' generated an exception: %s\n", urls[i].c_str(), e.what());
    }
  }
  co_return total;
}

}  // namespace

int main() {
  const std::vector<std::string> urls = {"http://www.foxnews.com/", "http://www.cnn.com/",
                                         "http://europe.wsj.com/", "http://www.bbc.co.uk/",
                                         "http://nonexistent-subdomain.python.org/"};
  cf::ThreadPoolExecutor pool(5);
  const std::size_t total = crawl(pool, urls).result();
  std::printf("total: %zu bytes\n", total);
}
