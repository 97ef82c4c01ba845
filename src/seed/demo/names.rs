//! Plausible names for the demo and scale data: places, and people of Sơn La's ethnic groups.

use super::Sequence;

pub(in crate::seed) const PLACE_FIRST: [&str; 20] = [
    "Nà", "Hua", "Huổi", "Pá", "Co", "Phiêng", "Nong", "Púng", "Kéo", "Lọng", "Bó", "Tà", "Xà",
    "Hát", "Pom", "Noong", "Cang", "Nậm", "Suối", "Bản",
];
pub(in crate::seed) const PLACE_SECOND: [&str; 24] = [
    "Pát", "Lay", "Khoang", "Mòn", "Sản", "Cướm", "Lìn", "Hịa", "Nưa", "Ngùa", "Cai", "Lả", "Cọ",
    "Mạ", "Sáy", "Hồng", "Luông", "Tạt", "Xá", "Nhàng", "Mường", "Phày", "Khúa", "Đông",
];

/// (ethnic group, weight): Sơn La's population is about half Thái.
pub(super) const ETHNICITIES: [(&str, usize); 7] = [
    ("thai", 53),
    ("kinh", 17),
    ("hmong", 15),
    ("muong", 8),
    ("dao", 2),
    ("kho_mu", 3),
    ("la_ha", 2),
];

fn family_names(ethnicity: &str) -> &'static [&'static str] {
    match ethnicity {
        "thai" => &[
            "Lò", "Cầm", "Quàng", "Lường", "Hà", "Tòng", "Vì", "Điêu", "Bạc", "Mùi", "Lù", "Sa",
        ],
        "hmong" => &[
            "Giàng", "Sùng", "Mùa", "Vàng", "Thào", "Lầu", "Hờ", "Lý", "Mua", "Tráng",
        ],
        "muong" => &["Đinh", "Bùi", "Hà", "Quách", "Xa"],
        "dao" => &["Bàn", "Triệu", "Đặng", "Phùng"],
        "kho_mu" => &["Lò", "Vi", "Quàng", "Cà"],
        "la_ha" => &["Lò", "Quàng", "Cà"],
        _ => &[
            "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đỗ", "Bùi", "Đặng", "Ngô",
        ],
    }
}

fn given_names(female: bool, ethnicity: &str) -> &'static [&'static str] {
    match (female, ethnicity) {
        (true, "hmong") => &["Mai", "Súa", "Dợ", "Pàng", "Chá", "Mỷ", "Dính", "Sua"],
        (false, "hmong") => &["Páo", "Chứ", "Dính", "Sếnh", "Lử", "Tủa", "Vảng", "Chá"],
        (true, _) => &[
            "Xuân", "Hoa", "Thoa", "Đào", "Hương", "Phương", "Lan", "Thắm", "Ban", "Hiên", "Mai",
            "Nguyệt",
        ],
        (false, _) => &[
            "Minh", "Đức", "Hải", "Sơn", "Nam", "Tám", "Lực", "Thanh", "Hùng", "Dũng", "Quyết",
            "Thắng",
        ],
    }
}

pub(super) fn full_name(sequence: &mut Sequence, female: bool, ethnicity: &str) -> String {
    let family = sequence.pick(family_names(ethnicity));
    let given = sequence.pick(given_names(female, ethnicity));
    let middle = match (female, ethnicity) {
        (false, "hmong") => "A",
        (true, _) => "Thị",
        (false, _) => "Văn",
    };
    format!("{family} {middle} {given}")
}
